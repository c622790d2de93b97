import { describe, expect, it } from 'vitest';
import { duration } from '../../../web/src/time.js';
import {
  clampView,
  msAt,
  nextSegment,
  panView,
  percentAt,
  place,
  seekTarget,
  selection,
  type TimedSegment,
  thumbnailSlots,
  ticks,
  viewEndingAt,
  ZOOMS,
  zoomOf,
  zoomView,
} from '../../../web/src/timeline-view.js';
import { fuzzRandom } from '../../helpers/random.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const seg = (id: number, startS: number, endS: number | null, complete = true): TimedSegment => ({
  id,
  startMs: NOW + startS * 1000,
  endMs: endS === null ? null : NOW + endS * 1000,
  complete,
});
// Two touching segments, a 20 s gap, a third, then the one being written.
const SEGMENTS = [seg(3, -20, -10), seg(1, -60, -50), seg(2, -50, -40), seg(4, -10, null, false)];

describe('timeline view', () => {
  it('zooms from a week to a minute, ending just after now', () => {
    expect(ZOOMS.map((z) => z.label)).toEqual(['week', 'day', 'hour', '10 min', 'minute']);
    const week = viewEndingAt(0, NOW);
    expect(week.spanMs).toBe(7 * 86_400_000);
    expect(week.fromMs + week.spanMs).toBeGreaterThan(NOW);
    expect(zoomOf(week)).toBe(0);
    expect(zoomOf(viewEndingAt(4, NOW))).toBe(4);
    expect(viewEndingAt(99, NOW).spanMs).toBe(60_000);
  });

  it('keeps the anchor at the same place when zooming', () => {
    const day = viewEndingAt(1, NOW);
    const anchor = NOW - 6 * 3_600_000;
    const before = percentAt(day, anchor);
    const hour = zoomView(day, 2, anchor, NOW);
    expect(hour.spanMs).toBe(3_600_000);
    expect(percentAt(hour, anchor)).toBeCloseTo(before, 6);
  });

  it('never pans or zooms past now', () => {
    const random = fuzzRandom(12);
    let view = viewEndingAt(2, NOW);
    for (let i = 0; i < 500; i++) {
      view =
        random.next() < 0.5
          ? panView(view, (random.next() - 0.5) * 4 * view.spanMs, NOW)
          : zoomView(view, Math.floor(random.next() * 5), view.fromMs + random.next() * view.spanMs, NOW);
      expect(view.fromMs + view.spanMs).toBeLessThanOrEqual(NOW + view.spanMs * 0.05 + 1);
      expect(clampView(view, NOW)).toEqual(view);
    }
  });

  it('maps pixels to moments and clips placements to the view', () => {
    const view = { fromMs: NOW - 60_000, spanMs: 60_000 };
    expect(msAt(view, 0, 600)).toBe(NOW - 60_000);
    expect(msAt(view, 300, 600)).toBe(NOW - 30_000);
    expect(msAt(view, 900, 600)).toBe(NOW);
    expect(msAt(view, -5, 600)).toBe(NOW - 60_000);
    expect(place(view, NOW - 120_000, NOW - 30_000, NOW)).toEqual({ left: 0, width: 50 });
    expect(place(view, NOW - 15_000, null, NOW)).toEqual({ left: 75, width: 25 });
    expect(place(view, NOW - 200_000, NOW - 100_000, NOW)).toBeUndefined();
  });

  it('plays the segment under a moment, or the next one after a gap', () => {
    expect(seekTarget(SEGMENTS, NOW - 45_000)).toEqual({
      segment: SEGMENTS[2],
      offsetS: 5,
      skippedGap: false,
    });
    // In the gap between -40 and -20: the segment at -20, from its start.
    expect(seekTarget(SEGMENTS, NOW - 30_000)).toEqual({
      segment: SEGMENTS[0],
      offsetS: 0,
      skippedGap: true,
    });
    // Near the end of a segment: not past its last half second.
    expect(seekTarget(SEGMENTS, NOW - 50_001)!.offsetS).toBe(9.5);
    // Only the segment being written lies ahead: nothing playable.
    expect(seekTarget(SEGMENTS, NOW - 5_000)).toBeUndefined();
  });

  it('continues with the next segment, saying when a gap was jumped', () => {
    expect(nextSegment(SEGMENTS, 1)).toEqual({ segment: SEGMENTS[2], skippedGap: false, gapMs: 0 });
    expect(nextSegment(SEGMENTS, 2)).toEqual({ segment: SEGMENTS[0], skippedGap: true, gapMs: 20_000 });
    expect(nextSegment(SEGMENTS, 3)).toBeUndefined();
    expect(nextSegment(SEGMENTS, 99)).toBeUndefined();
  });

  it('counts a recorded gap between two segments as skipped, however short', () => {
    // A camera back within a second: its segments nearly touch, but the archive recorded the gap.
    const offline = [{ startMs: SEGMENTS[1]!.endMs! - 300 }];
    expect(nextSegment(SEGMENTS, 1, offline)).toEqual({ segment: SEGMENTS[2], skippedGap: true, gapMs: 0 });
    // A gap before the current segment, or after the next one starts, is not between them.
    const elsewhere = [{ startMs: SEGMENTS[1]!.startMs - 1 }, { startMs: SEGMENTS[2]!.startMs }];
    expect(nextSegment(SEGMENTS, 1, elsewhere)!.skippedGap).toBe(false);
  });

  it('spreads thumbnails one per slot, each segment once', () => {
    const view = { fromMs: NOW - 60_000, spanMs: 60_000 };
    const slots = thumbnailSlots(view, SEGMENTS, 600, 100);
    expect(slots.map((s) => s.segment.id)).toEqual([1, 2, 3]);
    expect(slots[0]!.left).toBe(0);
    expect(thumbnailSlots(view, SEGMENTS, 0, 100)).toEqual([]);
    expect(thumbnailSlots(view, SEGMENTS, 1e9, 1).length).toBeLessThanOrEqual(64);
  });

  it('labels round times and orders a picked range', () => {
    const hour = { fromMs: NOW - 3_600_000 + 1, spanMs: 3_600_000 };
    const labels = ticks(hour, 8);
    expect(labels.length).toBeGreaterThan(1);
    expect(labels.length).toBeLessThanOrEqual(8);
    for (const t of labels) expect(t % 600_000).toBe(0);
    expect(selection(NOW, NOW - 5000, 1000)).toEqual({ fromMs: NOW - 5000, toMs: NOW });
    expect(selection(NOW, NOW + 10, 1000)).toBeUndefined();
  });
});

describe('duration', () => {
  it('says seconds, minutes or hours', () => {
    expect(duration(12_340)).toBe('12.3 s');
    expect(duration(312_000)).toBe('5 min 12 s');
    expect(duration(4_290_400)).toBe('1 h 12 min');
  });
});
