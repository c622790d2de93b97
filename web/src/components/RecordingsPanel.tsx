import { useEffect, useRef, useState } from 'preact/hooks';
import type { DeviceDocument, RecordingListing } from '../../../http-contract/index.js';
import { api, deviceUrl, mediaUrl } from '../api.js';
import { loadDevices, recordingsOf } from '../state.js';
import { dateTime, localInput } from '../time.js';
import { ExportForm, type exportRange } from './ExportForm.js';
import { RecordingPolicy } from './RecordingPolicy.js';
import { Timeline } from './Timeline.js';

type Segment = RecordingListing['segments'][number];
const REFRESH_MS = 10_000;
const HINT = 'Click a recorded block in the timeline to play it from there.';

/** The recordings of the camera `recordingsOf` names, or nothing. */
export function Recordings() {
  const shown = recordingsOf.value;
  if (!shown) return null;
  // A new camera starts afresh (its own timeline, player, range).
  return <RecordingsPanel key={shown.device.id} device={shown.device} opened={shown.opened} />;
}

/**
 * One camera's segments and gaps on a timeline, playback (one segment after the other), the
 * export of a range, and its recording mode. Refreshes every 10 s while open.
 */
function RecordingsPanel({ device, opened }: { device: DeviceDocument; opened: number }) {
  const url = deviceUrl(device.id);
  const section = useRef<HTMLElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  const [hours, setHours] = useState('1');
  const [listing, setListing] = useState<RecordingListing>();
  const [policy, setPolicy] = useState(device.recording);
  const [status, setStatus] = useState('Loading…');
  const [label, setLabel] = useState(HINT);
  const [playing, setPlaying] = useState<number>();
  const [range, setRange] = useState({ from: '', to: '', edited: false });
  // What the video's "ended" handler and the timer read: the latest, not a render's copy.
  const latest = useRef({ listing, playing, hours, edited: range.edited });
  latest.current = { listing, playing, hours, edited: range.edited };

  const refresh = async () => {
    const to = Date.now();
    const from = to - Number(latest.current.hours) * 3_600_000;
    const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    try {
      const [list, now] = await Promise.all([
        api<RecordingListing>(`${url}/recordings?${query}`),
        api<DeviceDocument>(url),
      ]);
      if (recordingsOf.peek()?.device.id !== device.id) return;
      setListing(list);
      setPolicy(now.recording);
      const complete = list.segments.filter((s) => s.state === 'complete').length;
      const gaps = list.gaps.length;
      setStatus(
        list.segments.length === 0
          ? 'Nothing recorded in this range.'
          : `${complete} recorded segment${complete === 1 ? '' : 's'}, ${gaps} gap${gaps === 1 ? '' : 's'}.`,
      );
      if (!latest.current.edited)
        setRange({
          from: localInput(Date.parse(list.from)),
          to: localInput(Date.parse(list.to)),
          edited: false,
        });
    } catch (err) {
      setStatus(`Cannot load recordings: ${(err as Error).message}`);
    }
  };

  // Opened (or its button clicked again): show it, load it now and every 10 s.
  useEffect(() => {
    section.current?.scrollIntoView({ block: 'nearest' });
    void refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(timer);
  }, [opened]);

  /** Plays `segment` from `offset` seconds; when it ends, the next recorded segment follows. */
  const play = (segment: Segment, offset: number) => {
    const v = video.current!;
    setPlaying(segment.id);
    latest.current.playing = segment.id;
    v.dataset.segmentId = String(segment.id);
    v.dataset.offset = offset.toFixed(2);
    v.src = `${mediaUrl(segment.url ?? '')}#t=${offset.toFixed(2)}`;
    v.play().catch(() => {});
    setLabel(`Playing ${device.name}, from ${dateTime(Date.parse(segment.start) + offset * 1000)}.`);
  };
  const ended = () => {
    const segments = latest.current.listing?.segments ?? [];
    const current = segments.find((s) => s.id === latest.current.playing);
    const next = current && segments.find((s) => s.state === 'complete' && s.start === current.end);
    if (next) play(next, 0);
  };
  const failed = async () => {
    const v = video.current;
    const error = v?.error;
    if (!v || !error) return;
    // A media element says only "format error": ask the server what it answered (an empty range
    // is NO_RECORDINGS, not a broken file).
    const asked = new AbortController();
    const problem = await fetch(v.currentSrc, { signal: asked.signal })
      .then(async (res) => {
        if (!res.ok) return (await res.json()) as { detail?: string };
        asked.abort(); // the server sent the file: not its error
        return undefined;
      })
      .catch(() => undefined);
    if (v.error !== error) return; // something else is playing by now
    setLabel(
      problem?.detail
        ? `Cannot play this ${v.dataset.segmentId ? 'recording' : 'range'}: ${problem.detail}`
        : `Cannot play this recording: ${error.message || error.code}`,
    );
  };
  const playRange = (r: ReturnType<typeof exportRange>) => {
    if (!r) return setStatus('The download range must end after it starts.');
    const v = video.current!;
    setPlaying(undefined);
    delete v.dataset.segmentId;
    v.dataset.offset = '0';
    v.src = r.href;
    v.play().catch(() => {});
    setLabel(`Playing ${device.name}, ${r.label}.`);
  };
  const close = () => {
    const v = video.current!;
    v.removeAttribute('src');
    v.load();
    recordingsOf.value = undefined;
  };

  return (
    <section id="recordings" ref={section} aria-labelledby="recordings-title">
      <div class="heading">
        <h2 id="recordings-title">
          Recordings · <span id="rec-camera">{device.name}</span>
        </h2>
        <button
          id="rec-close"
          type="button"
          title="Close recordings"
          aria-label="Close recordings"
          onClick={close}
        >
          ✕
        </button>
      </div>
      <div class="toolbar">
        <label>
          Show{' '}
          <select
            id="rec-range"
            value={hours}
            onChange={(e) => {
              const value = e.currentTarget.value;
              setHours(value);
              latest.current.hours = value;
              latest.current.edited = false;
              setRange((r) => ({ ...r, edited: false }));
              void refresh();
            }}
          >
            <option value="1">last 1 h</option>
            <option value="6">last 6 h</option>
            <option value="24">last 24 h</option>
          </select>
        </label>
        <button id="rec-refresh" type="button" onClick={() => void refresh()}>
          Refresh
        </button>
        <RecordingPolicy
          deviceUrl={url}
          policy={policy}
          onChange={(recording) => {
            setPolicy(recording);
            setStatus(`Recording is ${recording.mode}${recording.active ? ', recording now' : ''}.`);
            void loadDevices();
          }}
          onError={(message) => {
            setStatus(`Cannot change recording: ${message}`);
            void refresh();
          }}
        />
      </div>
      <p id="rec-status" class="muted" role="status">
        {status}
      </p>
      <Timeline
        listing={listing}
        fromMs={listing ? Date.parse(listing.from) : 0}
        toMs={listing ? Date.parse(listing.to) : 0}
        playing={playing}
        onPlay={play}
      />
      {/* biome-ignore lint/a11y/useMediaCaption: camera recordings have no captions to offer */}
      <video
        id="playback"
        ref={video}
        controls
        playsInline
        preload="metadata"
        onEnded={ended}
        onError={() => void failed()}
      />
      <p id="playback-label" class="muted">
        {label}
      </p>
      <ExportForm
        deviceUrl={url}
        from={range.from}
        to={range.to}
        onEdit={(from, to) => {
          latest.current.edited = true;
          setRange({ from, to, edited: true });
        }}
        onPlay={playRange}
      />
    </section>
  );
}
