import { useEffect, useRef, useState } from 'preact/hooks';
import { mediaUrl } from '../api.js';
import { downloadExport, type ExportProgress, megabytes } from '../export-download.js';
import { dateTime, time } from '../time.js';

/** A range of the form's two fields, when it is one (ends after it starts). */
export function exportRange(deviceUrl: string, from: string, to: string) {
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) return undefined;
  const range = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
  return {
    fromMs,
    toMs,
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
  /** Play an exported file (an object URL). */
  onPlayFile(url: string, label: string): void;
}

type Exported = { url: string; fileName: string; label: string; bytes: number };

/**
 * The export form: a range to play here, and the range exported as one MP4 with its
 * progress (the server prepares it, then it downloads), to play or save.
 */
export function ExportForm({ deviceUrl, from, to, onEdit, onPlay, onPlayFile }: Props) {
  const range = exportRange(deviceUrl, from, to);
  const [progress, setProgress] = useState<ExportProgress>();
  const [message, setMessage] = useState('');
  const [exported, setExported] = useState<Exported>();
  const running = useRef<AbortController | undefined>(undefined);

  // The object URL and a running download belong to this form.
  useEffect(() => () => running.current?.abort(), []);
  useEffect(() => () => (exported ? URL.revokeObjectURL(exported.url) : undefined), [exported]);

  const start = async () => {
    if (!range) return setMessage('The range must end after it starts.');
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    setExported(undefined);
    setMessage('');
    const url = `${deviceUrl}/export.mp4?${new URLSearchParams({
      from: new Date(range.fromMs).toISOString(),
      to: new Date(range.toMs).toISOString(),
    })}`;
    try {
      const { blob, fileName } = await downloadExport(url, setProgress, controller.signal);
      const file = { url: URL.createObjectURL(blob), fileName: fileName ?? 'export.mp4', label: range.label };
      setExported({ ...file, bytes: blob.size });
      setMessage(`Exported ${range.label} (${megabytes(blob.size)}).`);
    } catch (err) {
      if (controller.signal.aborted) setMessage('Export cancelled.');
      else setMessage(`Cannot export this range: ${(err as Error).message}`);
    } finally {
      if (running.current === controller) running.current = undefined;
      setProgress(undefined);
    }
  };

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
      {progress ? (
        <button id="dl-cancel" type="button" onClick={() => running.current?.abort()}>
          Cancel export
        </button>
      ) : (
        <button id="dl-export" type="button" onClick={() => void start()}>
          Export range
        </button>
      )}
      <a id="download" download="" hidden={!range} href={range?.href}>
        {range?.link ?? ''}
      </a>
      <ExportStatus progress={progress} message={message} />
      {exported ? (
        <span class="exported">
          <button id="dl-play-file" type="button" onClick={() => onPlayFile(exported.url, exported.label)}>
            Play exported file
          </button>
          <a id="dl-save" href={exported.url} download={exported.fileName}>
            Save {exported.fileName}
          </a>
        </span>
      ) : null}
    </form>
  );
}

/** Preparing (no measure: the server says nothing until the file is made), then bytes received. */
function ExportStatus({ progress, message }: { progress: ExportProgress | undefined; message: string }) {
  const text = !progress
    ? message
    : progress.phase === 'preparing'
      ? 'Preparing the file on the server…'
      : `Downloading ${megabytes(progress.received)}${progress.total ? ` of ${megabytes(progress.total)}` : ''}…`;
  return (
    <span class="export-status">
      {progress ? (
        <progress
          id="dl-progress"
          aria-label="Export progress"
          data-phase={progress.phase}
          max={progress.phase === 'downloading' && progress.total ? progress.total : undefined}
          value={progress.phase === 'downloading' && progress.total ? progress.received : undefined}
        />
      ) : null}
      <span id="dl-status" role="status">
        {text}
      </span>
    </span>
  );
}
