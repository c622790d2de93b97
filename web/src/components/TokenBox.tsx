import { useRef } from 'preact/hooks';
import { saveToken } from '../api.js';

/** Where the API token is entered; `onSaved` runs after it is stored. */
export function TokenBox({ onSaved }: { onSaved: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const save = (event: Event) => {
    event.preventDefault();
    saveToken(input.current!.value.trim());
    input.current!.value = '';
    onSaved();
  };
  return (
    <section id="login">
      <form onSubmit={save}>
        <label for="token">
          API token{' '}
          <span class="muted">
            (create one with <code>lookout token create</code>)
          </span>
        </label>
        <div class="row">
          <input id="token" type="password" autocomplete="off" placeholder="lkt_…" />
          <button id="save" type="submit">
            Use token
          </button>
        </div>
      </form>
    </section>
  );
}
