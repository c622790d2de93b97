// When the still pictures of cameras nobody watches are fetched again: every STILL_REFRESH_MS
// while the page is visible (a hidden tab asks nothing), and at once when it is shown again
// after that long. Never wakes a camera: only a tile's "Refresh still" button does.
import { signal } from '@preact/signals';

export const STILL_REFRESH_MS = 45_000;

/** Increases at each refresh round; still tiles fetch again when it changes. */
export const stillRound = signal(0);

let lastRound = 0;

function round(): void {
  lastRound = Date.now();
  stillRound.value++;
}

/** Starts the rounds; returns the stop. */
export function refreshStills(): () => void {
  lastRound = Date.now();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') round();
  }, STILL_REFRESH_MS);
  const shown = () => {
    if (document.visibilityState === 'visible' && Date.now() - lastRound >= STILL_REFRESH_MS) round();
  };
  document.addEventListener('visibilitychange', shown);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', shown);
  };
}
