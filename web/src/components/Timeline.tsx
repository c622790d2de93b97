import { useRef } from 'preact/hooks';
import type { RecordingListing } from '../../../http-contract/index.js';
import { dateTime, seconds, time } from '../time.js';

type Segment = RecordingListing['segments'][number];

export const REASONS: Record<string, string> = {
  'camera-offline': 'camera offline',
  'recorder-fault': 'recorder fault',
  'disk-full': 'disk full',
  'media-worker-died': 'media worker restarted',
  'server-stopped': 'server stopped',
  'server-down': 'server down',
};

const LEGEND: Array<[string, string]> = [
  ['camera-offline', 'camera offline'],
  ['recorder-fault', 'recorder fault'],
  ['disk-full', 'disk full'],
  ['server-stopped', 'server stopped'],
  ['server-down', 'server down'],
];

interface Props {
  /** Undefined while the first listing loads: an empty bar. */
  listing: RecordingListing | undefined;
  fromMs: number;
  toMs: number;
  /** The segment playing now (marked aria-current). */
  playing: number | undefined;
  /** Play `segment` from `offset` seconds. */
  onPlay(segment: Segment, offset: number): void;
}

/** A camera's segments (buttons that play) and gaps (labelled by reason) over the shown range. */
export function Timeline({ listing, fromMs, toMs, playing, onPlay }: Props) {
  const bar = useRef<HTMLDivElement>(null);
  const span = toMs - fromMs;
  /** Left offset and width in percent of the shown range, clipped to it. */
  const place = (startMs: number, endMs: number | null) => {
    const start = Math.max(startMs, fromMs);
    const end = Math.min(endMs ?? toMs, toMs);
    return {
      left: `${((start - fromMs) / span) * 100}%`,
      width: `${(Math.max(0, end - start) / span) * 100}%`,
    };
  };
  return (
    <>
      <div id="timeline" class="timeline" ref={bar}>
        {(listing?.gaps ?? []).map((gap) => {
          const end = gap.end ? time(Date.parse(gap.end)) : 'now';
          const title = `${REASONS[gap.reason] ?? gap.reason}: ${time(Date.parse(gap.start))} – ${end}`;
          return (
            <div
              key={`gap-${gap.start}`}
              class="gap"
              data-reason={gap.reason}
              title={title}
              role="img"
              aria-label={title}
              style={place(Date.parse(gap.start), gap.end ? Date.parse(gap.end) : null)}
            />
          );
        })}
        {(listing?.segments ?? []).map((segment) => {
          const startMs = Date.parse(segment.start);
          const endMs = segment.end ? Date.parse(segment.end) : null;
          const range = `${time(startMs)} – ${endMs ? time(endMs) : 'now'}`;
          const title =
            segment.state === 'complete'
              ? `${range} (${seconds(segment.durationMs ?? 0)}, ${segment.videoCodec}): click to play from there`
              : `${range} (${segment.state})`;
          const click = (event: MouseEvent) => {
            // The time under the pointer (a keyboard press starts at the beginning of the segment).
            const box = bar.current!.getBoundingClientRect();
            const at = fromMs + ((event.clientX - box.left) / box.width) * span;
            const offset = event.detail === 0 ? 0 : (at - startMs) / 1000;
            onPlay(segment, Math.max(0, Math.min((segment.durationMs ?? 0) / 1000 - 0.5, offset)));
          };
          return (
            <button
              key={segment.id}
              type="button"
              class={`segment ${segment.state}`}
              data-segment-id={segment.id}
              data-state={segment.state}
              title={title}
              aria-label={title}
              disabled={segment.state !== 'complete'}
              aria-current={playing === segment.id ? 'true' : undefined}
              style={place(startMs, endMs)}
              onClick={click}
            />
          );
        })}
      </div>
      <div class="axis muted">
        <span id="axis-from">{listing ? dateTime(fromMs) : ''}</span>
        <span id="axis-to">{listing ? dateTime(toMs) : ''}</span>
      </div>
      <ul class="legend muted">
        <li>
          <span class="swatch segment" />
          recorded
        </li>
        <li>
          <span class="swatch segment writing" />
          being written
        </li>
        {LEGEND.map(([reason, label]) => (
          <li key={reason}>
            <span class="swatch gap" data-reason={reason} />
            {label}
          </li>
        ))}
      </ul>
    </>
  );
}
