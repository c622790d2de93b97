import { mayUse } from '../api.js';
import { columns } from '../grid-store.js';
import { devices, watching } from '../state.js';
import { GridBar } from './GridBar.js';
import { LiveTile } from './LiveTile.js';
import { StillTile } from './StillTile.js';
import './grid.css';

/**
 * The cameras being watched, side by side (kept across reloads and linkable: grid-store.ts),
 * then a still picture of each other camera this user may watch.
 */
export function LiveGrid() {
  const watched = watching.value;
  const others = (devices.value ?? []).filter(
    (d) => !d.revoked && mayUse(d.id, 'live') && !watched.some((p) => p.id === d.id),
  );
  return (
    <section aria-labelledby="live-title">
      <h2 id="live-title">Live</h2>
      <GridBar />
      <p id="live-hint" class="muted">
        Click Watch on a camera; open several at once. The page's address links to this grid.
      </p>
      <div id="players" class="grid" data-columns={columns.value || undefined}>
        {watched.map((p) => (
          <LiveTile key={p.id} id={p.id} name={p.name} />
        ))}
      </div>
      {others.length > 0 && (
        <section aria-labelledby="stills-title">
          <h3 id="stills-title">Not watched</h3>
          <div id="stills" class="grid stills">
            {others.map((d) => (
              <StillTile key={d.id} device={d} />
            ))}
          </div>
        </section>
      )}
    </section>
  );
}
