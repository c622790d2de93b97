import { describe, expect, it } from 'vitest';
import type { Segment } from '../../../devices/index.js';
import { concatList, planExport } from '../../../recordings/export-plan.js';

function segment(
  id: number,
  startMs: number,
  durationMs: number,
  state: Segment['state'] = 'complete',
): Segment {
  return {
    id,
    deviceId: 'cam1',
    startMs,
    endMs: state === 'writing' ? null : startMs + durationMs,
    durationMs: state === 'writing' ? null : durationMs,
    bytes: 1000,
    videoCodec: 'h264',
    audioCodec: null,
    path: `cam1/s-${id}.mp4`,
    state,
    node: 'here',
  };
}

const segments = [
  segment(1, 0, 60_000),
  segment(2, 60_000, 60_000),
  segment(3, 130_000, 60_000),
  segment(4, 190_000, 0, 'writing'),
];

describe('planning a range export', () => {
  it('cuts into the first and last file only', () => {
    const plan = planExport(segments, 30_000, 150_000);
    expect(plan.parts).toEqual([
      { path: 'cam1/s-1.mp4', inpoint: 30 },
      { path: 'cam1/s-2.mp4' },
      { path: 'cam1/s-3.mp4', outpoint: 20 },
    ]);
    expect(plan.startMs).toBe(30_000);
    expect(plan.endMs).toBe(150_000);
    // The 10 s gap between segments 2 and 3 holds no media.
    expect(plan.seconds).toBeCloseTo(110);
  });

  it('uses inpoint and outpoint on one file', () => {
    expect(planExport(segments, 70_000, 80_000).parts).toEqual([
      { path: 'cam1/s-2.mp4', inpoint: 10, outpoint: 20 },
    ]);
  });

  it('leaves out the segment being written and missing ones', () => {
    const plan = planExport([...segments, segment(5, 250_000, 10_000, 'missing')], 180_000, 300_000);
    expect(plan.parts).toEqual([{ path: 'cam1/s-3.mp4', inpoint: 50 }]);
  });

  it('says so when nothing is recorded in the range', () => {
    expect(() => planExport(segments, 400_000, 500_000)).toThrow(/nothing is recorded/);
  });

  it('writes a concat list with quoted absolute paths', () => {
    const plan = planExport(segments, 30_000, 80_000);
    expect(concatList(plan, (p) => `/rec/it's/${p}`)).toBe(
      "ffconcat version 1.0\nfile '/rec/it'\\''s/cam1/s-1.mp4'\ninpoint 30\nfile '/rec/it'\\''s/cam1/s-2.mp4'\noutpoint 20\n",
    );
  });
});
