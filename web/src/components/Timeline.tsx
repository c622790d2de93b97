import { useEffect, useRef, useState } from 'preact/hooks';
import { mediaUrl } from '../api.js';
import { time } from '../time.js';
import {
  msAt,
  percentAt,
  place,
  selection,
  type TimedSegment,
  thumbnailSlots,
  ticks,
  type View,
  ZOOMS,
  zoomOf,
} from '../timeline-view.js';

export const REASONS: Record<string, string> = {
  'camera-offline': 'camera offline',
  'recorder-fault': 'recorder fault',
  'disk-full': 'disk full',
  'media-worker-died': 'media worker restarted',
  'server-stopped': 'server stopped',
  'server-down': 'server down',
};

export interface TimedGap {
  startMs: number;
  endMs: number | null;
  reason: string;
}

interface Props {
  deviceUrl: string;
  segments: readonly TimedSegment[];
  gaps: readonly TimedGap[];
  view: View;
  nowMs: number;
  /** Where playback is (undefined: nothing plays). */
  playheadMs: number | undefined;
  playing: number | undefined;
  /** The range picked for export (drawn over the bar). */
  picked: { fromMs: number; toMs: number } | undefined;
  onView(view: View, anchorMs: number, zoom?: number): void;
  /** Play from this moment (a click, a drag, a key). */
  onSeek(ms: number): void;
  onPick(range: { fromMs: number; toMs: number }): void;
}

const THUMB_SLOT_PX = 96;

/** A moment as the bar labels it, finer as the view narrows. */
function tickLabel(ms: number, spanMs: number): string {
  const d = new Date(ms);
  if (spanMs > 86_400_000) return d.toLocaleDateString([], { weekday: 'short', day: 'numeric' });
  if (spanMs > 600_000) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleTimeString();
}

/**
 * The review bar: thumbnails, segments and gaps (labelled by reason), the playhead and a
 * picked range over the shown stretch of time. Click or drag scrubs; shift-drag picks a
 * range; drag on the time axis pans; Ctrl+wheel (a trackpad pinch) or two fingers zoom. As a slider it
 * takes the keyboard: arrows step the playhead, +/- zoom, PageUp/PageDown pan.
 */
export function Timeline(props: Props) {
  const { segments, gaps, view, nowMs, playheadMs, picked } = props;
  const bar = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const drag = useRef<
    { kind: 'scrub' | 'pick' | 'pan'; startMs: number; startX: number; view: View } | undefined
  >(undefined);
  const [dragPick, setDragPick] = useState<{ fromMs: number; toMs: number }>();
  /** Fingers on the bar (x by pointer id), and the spread a two-finger pinch last zoomed at. */
  const touches = useRef(new Map<number, number>());
  const pinch = useRef<{ spread: number } | undefined>(undefined);

  useEffect(() => {
    const element = bar.current!;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    setWidth(element.clientWidth);
    return () => observer.disconnect();
  }, []);

  const at = (clientX: number) => {
    const box = bar.current!.getBoundingClientRect();
    return msAt(view, clientX - box.left, box.width);
  };
  const spread = () => {
    const [a = 0, b = 0] = touches.current.values();
    return { width: Math.abs(a - b), middle: (a + b) / 2 };
  };
  /** Two fingers: a pinch, one zoom level per 1.6x change of their spread. */
  const pinched = (event: PointerEvent): boolean => {
    if (event.pointerType !== 'touch') return false;
    if (event.type === 'pointerdown' || touches.current.has(event.pointerId))
      touches.current.set(event.pointerId, event.clientX);
    if (touches.current.size < 2) return false;
    const now = spread();
    if (!pinch.current || event.type === 'pointerdown') {
      drag.current = undefined;
      pinch.current = { spread: Math.max(1, now.width) };
      return true;
    }
    const ratio = now.width / pinch.current.spread;
    if (ratio > 1.6 || ratio < 1 / 1.6) {
      props.onView(view, at(now.middle), zoomOf(view) + (ratio > 1 ? 1 : -1));
      pinch.current = { spread: Math.max(1, now.width) };
    }
    return true;
  };
  const down = (kind: 'scrub' | 'pan') => (event: PointerEvent) => {
    if (pinched(event) || event.button !== 0) return;
    const target = event.currentTarget as HTMLElement;
    target.setPointerCapture(event.pointerId);
    const startMs = at(event.clientX);
    const mode = kind === 'scrub' && event.shiftKey ? 'pick' : kind;
    drag.current = { kind: mode, startMs, startX: event.clientX, view };
    if (mode === 'scrub') props.onSeek(startMs);
    event.preventDefault();
  };
  const move = (event: PointerEvent) => {
    if (pinched(event)) return;
    const d = drag.current;
    if (!d) return;
    if (d.kind === 'pan') {
      const box = bar.current!.getBoundingClientRect();
      const deltaMs = -((event.clientX - d.startX) / box.width) * d.view.spanMs;
      props.onView({ fromMs: d.view.fromMs + deltaMs, spanMs: d.view.spanMs }, d.startMs);
    } else if (d.kind === 'pick') {
      setDragPick(selection(d.startMs, at(event.clientX), 0));
    } else props.onSeek(at(event.clientX));
  };
  const up = (event: PointerEvent) => {
    touches.current.delete(event.pointerId);
    if (touches.current.size < 2) pinch.current = undefined;
    const d = drag.current;
    drag.current = undefined;
    setDragPick(undefined);
    if (d?.kind !== 'pick') return;
    const range = selection(d.startMs, at(event.clientX), 1000);
    if (range) props.onPick(range);
  };
  const wheel = (event: WheelEvent) => {
    const anchor = at(event.clientX);
    if (event.ctrlKey || event.metaKey) {
      // Chromium reports a trackpad pinch as a wheel event with Ctrl held.
      event.preventDefault();
      props.onView(view, anchor, zoomOf(view) + (event.deltaY < 0 ? 1 : -1));
    } else if (Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      event.preventDefault();
      props.onView(
        { fromMs: view.fromMs + (event.deltaX / width) * view.spanMs, spanMs: view.spanMs },
        anchor,
      );
    }
  };
  const key = (event: KeyboardEvent) => {
    const head = playheadMs ?? view.fromMs + view.spanMs / 2;
    const step = view.spanMs / 20;
    const handled: Record<string, () => void> = {
      ArrowLeft: () => props.onSeek(Math.max(view.fromMs, head - step)),
      ArrowRight: () => props.onSeek(head + step),
      '+': () => props.onView(view, head, zoomOf(view) + 1),
      '=': () => props.onView(view, head, zoomOf(view) + 1),
      '-': () => props.onView(view, head, zoomOf(view) - 1),
      PageUp: () => props.onView({ fromMs: view.fromMs - view.spanMs / 2, spanMs: view.spanMs }, head),
      PageDown: () => props.onView({ fromMs: view.fromMs + view.spanMs / 2, spanMs: view.spanMs }, head),
    };
    const action = handled[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  };

  const underHead = playheadMs === undefined ? undefined : describeAt(playheadMs, segments, gaps);
  const shownPick = dragPick ?? picked;
  const pickPlace = shownPick && place(view, shownPick.fromMs, shownPick.toMs, nowMs);
  const thumbs = thumbnailSlots(view, segments, width, THUMB_SLOT_PX);
  const headPercent = playheadMs === undefined ? undefined : percentAt(view, playheadMs);
  const pct = (p: { left: number; width: number }) => ({ left: `${p.left}%`, width: `${p.width}%` });
  return (
    <div class="review">
      <div class="thumbs" aria-hidden="true">
        {thumbs.map(({ segment, left }) => (
          <img
            key={segment.id}
            alt=""
            loading="lazy"
            data-segment-id={segment.id}
            style={{ left: `${left}%`, width: `${100 / Math.max(1, Math.floor(width / THUMB_SLOT_PX))}%` }}
            src={mediaUrl(`${props.deviceUrl}/recordings/${segment.id}/thumbnail.jpg`)}
          />
        ))}
      </div>
      <div
        id="timeline"
        class="timeline"
        ref={bar}
        role="slider"
        tabIndex={0}
        aria-label={`Timeline, ${ZOOMS[zoomOf(view)]!.label} shown; arrows move, + and - zoom, Page Up and Page Down pan`}
        aria-valuemin={view.fromMs}
        aria-valuemax={view.fromMs + view.spanMs}
        aria-valuenow={Math.round(playheadMs ?? view.fromMs)}
        aria-valuetext={underHead ?? 'nothing playing'}
        data-from={view.fromMs}
        data-span={view.spanMs}
        onPointerDown={down('scrub')}
        onPointerMove={move}
        onPointerUp={up}
        onPointerCancel={up}
        onWheel={wheel}
        onKeyDown={key}
      >
        {gaps.map((gap) => {
          const p = place(view, gap.startMs, gap.endMs, nowMs);
          if (!p) return null;
          const reason = REASONS[gap.reason] ?? gap.reason;
          const title = `${reason}: ${time(gap.startMs)} – ${gap.endMs === null ? 'now' : time(gap.endMs)}`;
          return (
            <div key={`gap-${gap.startMs}`} class="gap" data-reason={gap.reason} title={title} style={pct(p)}>
              {p.width > 8 ? <span class="gap-label">{reason}</span> : null}
            </div>
          );
        })}
        {segments.map((segment) => {
          const p = place(view, segment.startMs, segment.endMs, nowMs);
          if (!p) return null;
          const state = segment.complete ? 'complete' : segment.endMs === null ? 'writing' : 'missing';
          return (
            <div
              key={segment.id}
              class={`segment ${state}`}
              data-segment-id={segment.id}
              data-state={state}
              data-current={props.playing === segment.id ? 'true' : undefined}
              title={`${time(segment.startMs)} – ${segment.endMs === null ? 'now' : time(segment.endMs)} (${state})`}
              style={pct(p)}
            />
          );
        })}
        {pickPlace ? <div class="picked" style={pct(pickPlace)} /> : null}
        {headPercent !== undefined && headPercent >= 0 && headPercent <= 100 ? (
          <div class="playhead" style={{ left: `${headPercent}%` }} />
        ) : null}
      </div>
      <div
        class="axis muted"
        onPointerDown={down('pan')}
        onPointerMove={move}
        onPointerUp={up}
        title="Drag to pan"
      >
        {ticks(view, Math.max(2, Math.floor(width / 90))).map((t) => (
          <span key={t} style={{ left: `${percentAt(view, t)}%` }}>
            {tickLabel(t, view.spanMs)}
          </span>
        ))}
      </div>
    </div>
  );
}

/** What the playhead is over, for the slider's spoken value. */
function describeAt(ms: number, segments: readonly TimedSegment[], gaps: readonly TimedGap[]): string {
  const stamp = new Date(ms).toLocaleString();
  if (segments.some((s) => s.startMs <= ms && (s.endMs === null || ms < s.endMs)))
    return `${stamp}, recorded`;
  const gap = gaps.find((g) => g.startMs <= ms && (g.endMs === null || ms < g.endMs));
  return gap ? `${stamp}, not recorded: ${REASONS[gap.reason] ?? gap.reason}` : `${stamp}, not recorded`;
}
