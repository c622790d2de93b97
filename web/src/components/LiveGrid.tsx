import { watching } from '../state.js';
import { LiveTile } from './LiveTile.js';

/** The cameras being watched, side by side. */
export function LiveGrid() {
  return (
    <section aria-labelledby="live-title">
      <h2 id="live-title">Live</h2>
      <p id="live-hint" class="muted">
        Click Watch on a camera; open several at once.
      </p>
      <div id="players" class="grid">
        {watching.value.map((p) => (
          <LiveTile key={p.id} id={p.id} name={p.name} />
        ))}
      </div>
    </section>
  );
}
