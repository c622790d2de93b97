import { type View, ZOOMS, zoomOf } from '../timeline-view.js';

export const SPEEDS = [0.5, 1, 1.5, 2, 4];

interface Props {
  view: View;
  speed: number;
  onZoom(zoom: number): void;
  /** Pan by this fraction of the shown span (negative: earlier). */
  onPan(fraction: number): void;
  onNow(): void;
  onSpeed(speed: number): void;
  /** Start or end the export range at the playhead. */
  onMark(end: 'from' | 'to'): void;
}

/** Zoom levels, pan, jump to now, playback speed and range marks: the timeline by buttons. */
export function TimelineToolbar({ view, speed, onZoom, onPan, onNow, onSpeed, onMark }: Props) {
  const zoom = zoomOf(view);
  return (
    <div class="toolbar timeline-tools">
      <fieldset class="zooms">
        <legend class="visually-hidden">Zoom</legend>
        {ZOOMS.map((z, index) => (
          <button
            key={z.label}
            type="button"
            class="zoom"
            data-zoom={z.label}
            aria-pressed={index === zoom}
            onClick={() => onZoom(index)}
          >
            {z.label}
          </button>
        ))}
      </fieldset>
      <span class="pan">
        <button
          id="rec-earlier"
          type="button"
          aria-label="Earlier"
          title="Earlier"
          onClick={() => onPan(-0.5)}
        >
          ◀
        </button>
        <button id="rec-later" type="button" aria-label="Later" title="Later" onClick={() => onPan(0.5)}>
          ▶
        </button>
        <button id="rec-now" type="button" onClick={onNow}>
          Jump to now
        </button>
      </span>
      <label>
        Speed{' '}
        <select id="rec-speed" value={String(speed)} onChange={(e) => onSpeed(Number(e.currentTarget.value))}>
          {SPEEDS.map((s) => (
            <option key={s} value={String(s)}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      <span class="marks">
        <button id="mark-from" type="button" onClick={() => onMark('from')}>
          Range starts here
        </button>
        <button id="mark-to" type="button" onClick={() => onMark('to')}>
          Range ends here
        </button>
      </span>
    </div>
  );
}

const LEGEND: Array<[string, string]> = [
  ['camera-offline', 'camera offline'],
  ['recorder-fault', 'recorder fault'],
  ['disk-full', 'disk full'],
  ['media-worker-died', 'media worker restarted'],
  ['server-stopped', 'server stopped'],
  ['server-down', 'server down'],
];

/** What the bar's colours mean (narrow gaps have no room for their label). */
export function TimelineLegend() {
  return (
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
  );
}
