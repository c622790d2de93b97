import { health } from '../state.js';

/** The server's health in the header, as the event stream (or /healthz) last said it. */
export function ServerStatus() {
  const h = health.value;
  const text =
    h.state === 'checking'
      ? 'checking server…'
      : h.state === 'up'
        ? `server ok, version ${h.version}`
        : 'server unreachable';
  return (
    <span id="health" class="muted" data-state={h.state === 'checking' ? undefined : h.state} role="status">
      {text}
    </span>
  );
}
