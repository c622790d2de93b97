import { useState } from 'preact/hooks';
import { COLUMN_CHOICES, type Columns } from '../grid-layout.js';
import {
  columns,
  deleteLayout,
  gridNotice,
  layouts,
  openLayout,
  saveLayout,
  setColumns,
} from '../grid-store.js';
import { watching } from '../state.js';

/**
 * The grid's controls: columns, the grid saved as a named layout (in this browser), saved
 * layouts to open or delete, and the link to this view (the page's URL).
 */
export function GridBar() {
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState('');
  const saved = layouts.value;
  return (
    <div class="grid-bar">
      <label>
        Columns{' '}
        <select
          id="grid-columns"
          value={String(columns.value)}
          onChange={(e) => setColumns(Number((e.target as HTMLSelectElement).value) as Columns)}
        >
          {COLUMN_CHOICES.map((n) => (
            <option key={n} value={String(n)}>
              {n === 0 ? 'auto' : n}
            </option>
          ))}
        </select>
      </label>
      <form
        class="save-layout"
        onSubmit={(e) => {
          e.preventDefault();
          try {
            saveLayout(name);
            setChosen(name.trim());
            setName('');
          } catch (err) {
            gridNotice.value = (err as Error).message;
          }
        }}
      >
        <label>
          Layout name{' '}
          <input
            id="layout-name"
            value={name}
            maxLength={60}
            required
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>{' '}
        <button id="layout-save" type="submit" disabled={watching.value.length === 0}>
          Save layout
        </button>
      </form>
      {saved.length > 0 && (
        <span class="saved-layouts">
          <label>
            Saved layouts{' '}
            <select
              id="layout-select"
              value={chosen}
              onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}
            >
              <option value="">choose…</option>
              {saved.map((l) => (
                <option key={l.name} value={l.name}>
                  {l.name} ({l.cameras.length})
                </option>
              ))}
            </select>
          </label>{' '}
          <button id="layout-open" type="button" disabled={!chosen} onClick={() => openLayout(chosen)}>
            Open
          </button>{' '}
          <button
            id="layout-delete"
            type="button"
            disabled={!chosen}
            onClick={() => {
              deleteLayout(chosen);
              setChosen('');
            }}
          >
            Delete
          </button>
        </span>
      )}
      <p id="grid-notice" class="muted" role="status">
        {gridNotice.value}
      </p>
    </div>
  );
}
