import type { State } from './recorder-types.js';

/**
 * What a camera's recording is doing, as live events show it: `off` (its policy records
 * nothing now), `idle` (wanted, waiting for the camera's stream or its next keyframe),
 * `recording`, or `fault` with why (ffmpeg failed and is being restarted, the disk is full,
 * the camera's codec cannot be recorded).
 */
export type RecordingActivity =
  | { state: 'off' | 'idle' | 'recording' }
  | { state: 'fault'; reason: 'recorder-restarting' | 'disk-full' | 'unsupported-codec' };

/** The activity a recorder in state `kind` shows (undefined: no recorder, so `off`). */
export function recordingActivity(kind: State['kind'] | undefined): RecordingActivity {
  switch (kind) {
    case 'starting':
    case 'recording':
      return { state: 'recording' };
    case 'idle':
    case 'waiting-keyframe':
    case 'collecting':
      return { state: 'idle' };
    case 'backoff':
      return { state: 'fault', reason: 'recorder-restarting' };
    case 'disk-full':
      return { state: 'fault', reason: 'disk-full' };
    case 'unsupported':
      return { state: 'fault', reason: 'unsupported-codec' };
    default:
      return { state: 'off' };
  }
}
