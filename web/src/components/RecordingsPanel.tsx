import { useEffect, useRef, useState } from 'preact/hooks';
import type { DeviceDocument, RecordingListing } from '../../../http-contract/index.js';
import { api, deviceUrl } from '../api.js';
import { loadDevices, recordingsOf } from '../state.js';
import { localInput } from '../time.js';
import { clampView, panView, type View, viewEndingAt, zoomOf, zoomView } from '../timeline-view.js';
import { ExportForm, type exportRange } from './ExportForm.js';
import { RecordingPolicy } from './RecordingPolicy.js';
import { Timeline } from './Timeline.js';
import { TimelineLegend, TimelineToolbar } from './TimelineToolbar.js';
import { timed, usePlayback } from './use-playback.js';

const REFRESH_MS = 10_000;
/** Waits this long after the last zoom or pan before asking for the new stretch of time. */
const VIEW_SETTLE_MS = 200;
const HINT = 'Click or drag on the timeline to play from there; shift-drag to pick a range to export.';
const HOUR_ZOOM = 2;

/** The recordings of the camera `recordingsOf` names, or nothing. */
export function Recordings() {
  const shown = recordingsOf.value;
  if (!shown) return null;
  // A new camera starts afresh (its own timeline, player, range).
  return <RecordingsPanel key={shown.device.id} device={shown.device} opened={shown.opened} />;
}

/**
 * One camera's review: the timeline (zoom, pan, scrub, thumbnails, gaps by reason), playback
 * through consecutive segments, speed, the export of a picked range, and the recording mode.
 * Refreshes every 10 s while open, following now unless the user moved away from it.
 */
function RecordingsPanel({ device, opened }: { device: DeviceDocument; opened: number }) {
  const url = deviceUrl(device.id);
  const section = useRef<HTMLElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  const [view, setView] = useState<View>(() => viewEndingAt(HOUR_ZOOM, Date.now()));
  const [nowMs, setNowMs] = useState(Date.now());
  const [listing, setListing] = useState<RecordingListing>();
  const [policy, setPolicy] = useState(device.recording);
  const [status, setStatus] = useState('Loading…');
  const [label, setLabel] = useState(HINT);
  const [speed, setSpeedState] = useState(1);
  const [range, setRange] = useState({ from: '', to: '', edited: false });
  // What timers and media handlers read: the latest, not a render's copy.
  const latest = useRef({ view, listing, follow: true, edited: false });
  latest.current.listing = listing;
  latest.current.edited = range.edited;
  const shown = timed(listing);
  const playback = usePlayback({
    video,
    deviceUrl: url,
    deviceName: device.name,
    known: () => timed(latest.current.listing),
    say: setLabel,
  });

  const refresh = async () => {
    const now = Date.now();
    if (latest.current.follow)
      latest.current.view = clampView(viewEndingAt(zoomOf(latest.current.view), now), now);
    const { fromMs, spanMs } = latest.current.view;
    const query = new URLSearchParams({
      from: new Date(fromMs).toISOString(),
      to: new Date(Math.min(now, fromMs + spanMs)).toISOString(),
    });
    try {
      const [list, doc] = await Promise.all([
        api<RecordingListing>(`${url}/recordings?${query}`),
        api<DeviceDocument>(url),
      ]);
      if (recordingsOf.peek()?.device.id !== device.id) return;
      setNowMs(now);
      setView(latest.current.view);
      setListing(list);
      setPolicy(doc.recording);
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

  // A zoom or pan: draw it at once, load its stretch once the user pauses.
  const settle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(settle.current), []);
  const changeView = (next: View, follow = false) => {
    const now = Date.now();
    latest.current.view = clampView(next, now);
    // Back at the newest end: keep following now.
    latest.current.follow = follow || latest.current.view.fromMs + latest.current.view.spanMs >= now;
    setView(latest.current.view);
    clearTimeout(settle.current);
    settle.current = setTimeout(() => void refresh(), VIEW_SETTLE_MS);
  };

  // Playback ran (or a key stepped) out of the shown stretch: the view follows the playhead.
  useEffect(() => {
    const at = playback.playheadMs;
    const { fromMs, spanMs } = latest.current.view;
    if (at === undefined || (at >= fromMs && at <= fromMs + spanMs)) return;
    changeView({ fromMs: at - spanMs * 0.1, spanMs });
  }, [playback.playheadMs]);

  const pick = (r: { fromMs: number; toMs: number }) => {
    setRange({ from: localInput(r.fromMs), to: localInput(r.toMs), edited: true });
    setLabel(
      `Picked ${new Date(r.fromMs).toLocaleString()} – ${new Date(r.toMs).toLocaleString()} for export.`,
    );
  };
  const mark = (end: 'from' | 'to') => {
    const at = playback.playheadMs;
    if (at === undefined) return setLabel('Play something first: the range starts or ends at the playhead.');
    const from = end === 'from' ? localInput(at) : range.from;
    const to = end === 'to' ? localInput(at) : range.to;
    setRange({ from, to, edited: true });
  };
  const picked = (() => {
    if (!range.edited) return undefined;
    const fromMs = Date.parse(range.from);
    const toMs = Date.parse(range.to);
    return Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs > fromMs ? { fromMs, toMs } : undefined;
  })();

  const jumpToNow = async () => {
    changeView(viewEndingAt(zoomOf(view), Date.now()), true);
    await refresh();
    const latestSegment = timed(latest.current.listing)
      .segments.filter((s) => s.complete && s.endMs !== null)
      .sort((a, b) => b.startMs - a.startMs)[0];
    if (!latestSegment) return setLabel('Nothing recorded in the shown range yet.');
    playback.seek(Math.max(latestSegment.startMs, latestSegment.endMs! - 5000));
  };

  const failed = async () => {
    const v = video.current;
    const error = v?.error;
    if (!v || !error || v.currentSrc.startsWith('blob:')) return;
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
  const playOther = (src: string, text: string) => {
    const v = video.current!;
    playback.leave();
    delete v.dataset.segmentId;
    v.dataset.offset = '0';
    v.src = src;
    v.playbackRate = speed;
    v.play().catch(() => {});
    setLabel(text);
  };
  const playRange = (r: ReturnType<typeof exportRange>) => {
    if (!r) return setStatus('The download range must end after it starts.');
    playOther(r.href, `Playing ${device.name}, ${r.label}.`);
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
      <TimelineToolbar
        view={view}
        speed={speed}
        onZoom={(zoom) =>
          changeView(zoomView(view, zoom, playback.playheadMs ?? view.fromMs + view.spanMs, Date.now()))
        }
        onPan={(fraction) => changeView(panView(view, fraction * view.spanMs, Date.now()))}
        onNow={() => void jumpToNow()}
        onSpeed={(value) => {
          setSpeedState(value);
          playback.setSpeed(value);
        }}
        onMark={mark}
      />
      <p id="rec-status" class="muted" role="status">
        {status}
      </p>
      <Timeline
        deviceUrl={url}
        segments={shown.segments}
        gaps={shown.gaps}
        view={view}
        nowMs={nowMs}
        playheadMs={playback.playheadMs}
        playing={playback.playing}
        picked={picked}
        onView={(next, anchor, zoom) =>
          changeView(zoom === undefined ? next : zoomView(next, zoom, anchor, Date.now()))
        }
        onSeek={playback.seek}
        onPick={pick}
      />
      <TimelineLegend />
      {/* biome-ignore lint/a11y/useMediaCaption: camera recordings have no captions to offer */}
      <video
        id="playback"
        ref={video}
        controls
        playsInline
        preload="metadata"
        onEnded={() => void playback.ended()}
        onWaiting={playback.waiting}
        onTimeUpdate={playback.timeUpdate}
        onError={() => void failed()}
      />
      <p id="playback-label" class="muted" aria-live="polite">
        {label}
      </p>
      <ExportForm
        deviceUrl={url}
        from={range.from}
        to={range.to}
        onEdit={(from, to) => setRange({ from, to, edited: true })}
        onPlay={playRange}
        onPlayFile={(src, text) => playOther(src, `Playing the exported file, ${text}.`)}
      />
    </section>
  );
}
