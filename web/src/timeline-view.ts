// The review timeline's time and layout arithmetic, without the DOM: which stretch of time the
// bar shows, where a moment falls on it, what a click at a moment plays, and what follows the
// segment that just ended. The Timeline component and the recordings panel only draw and wire it.

/** The zoom levels, widest first: what the bar spans at each. */
export const ZOOMS = [
  { label: 'week', spanMs: 7 * 86_400_000 },
  { label: 'day', spanMs: 86_400_000 },
  { label: 'hour', spanMs: 3_600_000 },
  { label: '10 min', spanMs: 600_000 },
  { label: 'minute', spanMs: 60_000 },
] as const;

/** The stretch of time the bar shows: [fromMs, fromMs + spanMs). */
export interface View {
  fromMs: number;
  spanMs: number;
}

/** What the timeline needs of a segment (the API's listing, times parsed). */
export interface TimedSegment {
  id: number;
  startMs: number;
  /** Null while it is being written. */
  endMs: number | null;
  complete: boolean;
}

/** How far past now the bar may reach (so "now" is not squeezed against the right edge). */
const FUTURE_MS_RATIO = 0.05;
/** Consecutive segments touch; more than this between one's end and the next's start is a gap. */
export const GAP_TOLERANCE_MS = 1500;

/** The view of `zoom` (an index into ZOOMS) ending a little after `nowMs`. */
export function viewEndingAt(zoom: number, nowMs: number): View {
  const spanMs = ZOOMS[clampZoom(zoom)]!.spanMs;
  return { fromMs: nowMs - spanMs * (1 - FUTURE_MS_RATIO), spanMs };
}

export function clampZoom(zoom: number): number {
  return Math.max(0, Math.min(ZOOMS.length - 1, Math.round(zoom)));
}

/** The zoom level whose span is `spanMs` (or the nearest wider one). */
export function zoomOf(view: View): number {
  const index = ZOOMS.findIndex((z) => z.spanMs <= view.spanMs);
  return index === -1 ? ZOOMS.length - 1 : index;
}

/** Keeps a view from reaching past now (plus a margin): there is nothing to see there. */
export function clampView(view: View, nowMs: number): View {
  const latestFrom = nowMs - view.spanMs * (1 - FUTURE_MS_RATIO);
  return { fromMs: Math.min(view.fromMs, latestFrom), spanMs: view.spanMs };
}

/** `view` zoomed to `zoom`, keeping `anchorMs` (the pointer, the playhead) at the same place on the bar. */
export function zoomView(view: View, zoom: number, anchorMs: number, nowMs: number): View {
  const spanMs = ZOOMS[clampZoom(zoom)]!.spanMs;
  const fraction = Math.max(0, Math.min(1, (anchorMs - view.fromMs) / view.spanMs));
  return clampView({ fromMs: anchorMs - fraction * spanMs, spanMs }, nowMs);
}

/** `view` moved by `deltaMs` (negative: back in time). */
export function panView(view: View, deltaMs: number, nowMs: number): View {
  return clampView({ fromMs: view.fromMs + deltaMs, spanMs: view.spanMs }, nowMs);
}

/** The moment at `x` pixels of a bar `width` pixels wide (clamped to the bar). */
export function msAt(view: View, x: number, width: number): number {
  const fraction = width > 0 ? Math.max(0, Math.min(1, x / width)) : 0;
  return view.fromMs + fraction * view.spanMs;
}

/** `ms` as a percentage of the bar (not clamped: outside the view is below 0 or above 100). */
export function percentAt(view: View, ms: number): number {
  return ((ms - view.fromMs) / view.spanMs) * 100;
}

/**
 * Where [startMs, endMs) sits on the bar, in percent, clipped to the view; an open end
 * (null) reaches `nowMs`. Undefined when nothing of it is in view.
 */
export function place(
  view: View,
  startMs: number,
  endMs: number | null,
  nowMs: number,
): { left: number; width: number } | undefined {
  const start = Math.max(startMs, view.fromMs);
  const end = Math.min(endMs ?? nowMs, view.fromMs + view.spanMs);
  if (end <= start) return undefined;
  return { left: percentAt(view, start), width: ((end - start) / view.spanMs) * 100 };
}

/** What playing from a moment means: a segment, the offset into it, and whether a gap was jumped. */
export interface SeekTarget {
  segment: TimedSegment;
  offsetS: number;
  /** The moment fell in a gap (or before the first recording): playback starts at the next segment. */
  skippedGap: boolean;
}

/** The last second of a segment is not worth seeking into: playback would end at once. */
const END_MARGIN_S = 0.5;

/**
 * The playable (complete) segment at `ms`, or else the first one after it. Undefined when
 * nothing is recorded at or after `ms`. `segments` need not be sorted.
 */
export function seekTarget(segments: readonly TimedSegment[], ms: number): SeekTarget | undefined {
  const playable = sortedPlayable(segments);
  const at = playable.find((s) => s.startMs <= ms && ms < s.endMs!);
  if (at) {
    const lastS = Math.max(0, (at.endMs! - at.startMs) / 1000 - END_MARGIN_S);
    return { segment: at, offsetS: Math.min(lastS, (ms - at.startMs) / 1000), skippedGap: false };
  }
  const next = playable.find((s) => s.startMs >= ms);
  return next && { segment: next, offsetS: 0, skippedGap: true };
}

/**
 * What plays after `currentId` ends: the next complete segment by start, and whether a gap
 * lies between them: more than GAP_TOLERANCE_MS of nothing, or a recorded gap (the camera
 * went offline, the recorder failed) that starts within the current segment or after it,
 * however short (a camera back within a second still left one). Undefined at the end of
 * what is recorded (or for an unknown id).
 */
export function nextSegment(
  segments: readonly TimedSegment[],
  currentId: number,
  gaps: ReadonlyArray<{ startMs: number }> = [],
): { segment: TimedSegment; skippedGap: boolean; gapMs: number } | undefined {
  const current = segments.find((s) => s.id === currentId);
  if (!current || current.endMs === null) return undefined;
  const next = sortedPlayable(segments).find((s) => s.id !== currentId && s.startMs >= current.startMs + 1);
  if (!next) return undefined;
  const gapMs = Math.max(0, next.startMs - current.endMs);
  const recorded = gaps.some((g) => g.startMs > current.startMs && g.startMs < next.startMs);
  return { segment: next, skippedGap: recorded || gapMs > GAP_TOLERANCE_MS, gapMs };
}

function sortedPlayable(segments: readonly TimedSegment[]): TimedSegment[] {
  return segments.filter((s) => s.complete && s.endMs !== null).sort((a, b) => a.startMs - b.startMs);
}

/**
 * Thumbnails along the bar: at most one per `slotPx` of a bar `widthPx` wide, each the
 * complete segment under the slot's middle (or the nearest one starting within the slot),
 * never the same segment twice. Positions are the slot's left edge in percent.
 */
export function thumbnailSlots(
  view: View,
  segments: readonly TimedSegment[],
  widthPx: number,
  slotPx: number,
): Array<{ segment: TimedSegment; left: number }> {
  const slots = Math.max(0, Math.min(64, Math.floor(widthPx / Math.max(1, slotPx))));
  const playable = sortedPlayable(segments);
  const chosen: Array<{ segment: TimedSegment; left: number }> = [];
  const used = new Set<number>();
  for (let i = 0; i < slots; i++) {
    const slotFrom = view.fromMs + (i / slots) * view.spanMs;
    const slotTo = view.fromMs + ((i + 1) / slots) * view.spanMs;
    const middle = (slotFrom + slotTo) / 2;
    const segment =
      playable.find((s) => s.startMs <= middle && middle < s.endMs!) ??
      playable.find((s) => s.startMs < slotTo && s.endMs! > slotFrom);
    if (!segment || used.has(segment.id)) continue;
    used.add(segment.id);
    chosen.push({ segment, left: (i / slots) * 100 });
  }
  return chosen;
}

/** Labelled times along the bar: a round step giving about `count` ticks. */
export function ticks(view: View, count: number): number[] {
  const steps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400].map(
    (s) => s * 1000,
  );
  const step = steps.find((s) => view.spanMs / s <= count) ?? 86_400_000;
  const out: number[] = [];
  for (let t = Math.ceil(view.fromMs / step) * step; t < view.fromMs + view.spanMs; t += step) out.push(t);
  return out;
}

/** A range picked on the bar, in order, or undefined when it is too short to mean one (a click). */
export function selection(
  aMs: number,
  bMs: number,
  minMs: number,
): { fromMs: number; toMs: number } | undefined {
  const fromMs = Math.min(aMs, bMs);
  const toMs = Math.max(aMs, bMs);
  return toMs - fromMs >= minMs ? { fromMs, toMs } : undefined;
}
