import type { Gap, Segment } from '../devices/index.js';
import type { RecordingListing } from '../http-contract/index.js';

/**
 * A camera's segments and gaps over a range as the HTTP API serves them and `lookout recordings
 * list --json` prints them (schema: http-contract/recordings.ts).
 */
export function recordingListingJson(
  deviceId: string,
  fromMs: number,
  toMs: number,
  found: { segments: readonly Segment[]; gaps: readonly Gap[] },
): RecordingListing {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    device: deviceId,
    from: iso(fromMs),
    to: iso(toMs),
    segments: found.segments.map((segment) => ({
      id: segment.id,
      start: iso(segment.startMs),
      end: segment.endMs === null ? null : iso(segment.endMs),
      durationMs: segment.durationMs,
      bytes: segment.bytes,
      videoCodec: segment.videoCodec,
      audioCodec: segment.audioCodec,
      state: segment.state,
      url: segment.state === 'complete' ? `/api/devices/${deviceId}/recordings/${segment.id}.mp4` : null,
      node: segment.node,
    })),
    gaps: found.gaps.map((gap) => ({
      start: iso(gap.startMs),
      end: gap.endMs === null ? null : iso(gap.endMs),
      reason: gap.reason,
    })),
  };
}
