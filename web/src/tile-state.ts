// What a live tile's caption says, DOM-free (unit-tested).
import { offlineFor } from './grid-layout.js';

/** Where a live tile is: the states issue 12 item 3 asks to tell apart, and errors. */
export type TilePhase =
  | 'connecting'
  | 'waiting'
  | 'live'
  | 'offline'
  | 'reconnecting'
  | 'forbidden'
  | 'signed-out'
  | 'error';

/**
 * The caption: `connecting…`, `live · 42 frames`, `camera offline for 5 min; retrying in 5 s`
 * (how long from the camera's last presence, `lastSeenAt`), `reconnecting… (connection lost;
 * retrying in 1 s)`, `no right to view this camera`. `detail` is the frame count while live or
 * waiting, else the reason and retry.
 */
export function tileStateText(
  phase: TilePhase,
  detail: string | undefined,
  lastSeenAt: string | null | undefined,
  now: number,
): string {
  switch (phase) {
    case 'connecting':
      return 'connecting…';
    case 'waiting':
      return 'waiting for video…';
    case 'live':
      return `live · ${detail ?? 0} frames`;
    case 'offline': {
      const retry = detail?.match(/retrying in \d+ s$/)?.[0];
      return `camera ${offlineFor(lastSeenAt, now)}${retry ? `; ${retry}` : ''}`;
    }
    case 'reconnecting':
      return `reconnecting…${detail ? ` (${detail})` : ''}`;
    case 'forbidden':
      return 'no right to view this camera';
    case 'signed-out':
      return 'signed out';
    case 'error':
      return `error: ${detail ?? 'unknown'}`;
  }
}
