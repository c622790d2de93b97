import { mediaUrl } from '../api.js';
import { dateTime, time } from '../time.js';

/** A range of the form's two fields, when it is one (ends after it starts). */
export function exportRange(deviceUrl: string, from: string, to: string) {
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) return undefined;
  const range = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
  return {
    href: mediaUrl(`${deviceUrl}/export.mp4`, range),
    link: `Download ${time(fromMs)} – ${time(toMs)}`,
    label: `${dateTime(fromMs)} – ${dateTime(toMs)}`,
  };
}

interface Props {
  deviceUrl: string;
  from: string;
  to: string;
  onEdit(from: string, to: string): void;
  /** Play the range (undefined: the range is not one). */
  onPlay(range: ReturnType<typeof exportRange>): void;
}

/** The export form: a range to play here, and its link as one MP4 file. */
export function ExportForm({ deviceUrl, from, to, onEdit, onPlay }: Props) {
  const range = exportRange(deviceUrl, from, to);
  return (
    <form
      id="download-form"
      class="toolbar"
      onSubmit={(event) => {
        event.preventDefault();
        onPlay(range);
      }}
    >
      <label>
        From{' '}
        <input
          id="dl-from"
          type="datetime-local"
          step="1"
          required
          value={from}
          onInput={(e) => onEdit(e.currentTarget.value, to)}
        />
      </label>
      <label>
        To{' '}
        <input
          id="dl-to"
          type="datetime-local"
          step="1"
          required
          value={to}
          onInput={(e) => onEdit(from, e.currentTarget.value)}
        />
      </label>
      <button id="dl-play" type="submit">
        Play range
      </button>
      <a id="download" download="" hidden={!range} href={range?.href}>
        {range?.link ?? ''}
      </a>
    </form>
  );
}
