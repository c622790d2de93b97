import { describe, expect, it } from 'vitest';
import { planBurst } from '../../../media/burst-plan.js';
import { fuzzRandom } from '../../helpers/random.js';

const pacing = { headBytes: 2000, bytesPerMs: 1000 };

describe('planBurst', () => {
  it('sends the head at once, then at bytesPerMs', () => {
    const plan = planBurst(
      [1000, 1000, 1000, 1000, 500].map((bytes, i) => ({ timestamp: i * 3000, bytes })),
      90_000,
      pacing,
    );
    expect(plan.map((p) => p.atMs)).toEqual([0, 0, 0, 1, 2]);
  });

  it('draws frames together to their send times; the newest frame keeps its timestamp', () => {
    // Three frames 1 s apart (90,000 ticks), the last two sent 1 ms apart: 90 ticks (1 ms) apart.
    const plan = planBurst(
      [
        { timestamp: 0, bytes: 2000 }, // the keyframe, sent at 0
        { timestamp: 90_000, bytes: 1000 }, // at 0 ms
        { timestamp: 180_000, bytes: 600 }, // at 1 ms
        { timestamp: 180_000, bytes: 600 }, // same frame
      ],
      90_000,
      pacing,
    );
    const sent = [0, 90_000, 180_000, 180_000].map((ts, i) => ts + plan[i]!.timestampShift);
    expect(plan.map((p) => p.atMs)).toEqual([0, 0, 1, 1.6]);
    // The first two frames both go at 0 ms: one tick apart, never one timestamp for two frames.
    expect(sent).toEqual([180_000 - 91, 180_000 - 90, 180_000, 180_000]);
    expect(plan[3]!.timestampShift).toBe(0);
  });

  it('is unaffected by timestamps wrapping around 2^32', () => {
    const base = 0xffff_ff00;
    const plan = planBurst(
      [
        { timestamp: base, bytes: 3000 },
        { timestamp: (base + 6000) >>> 0, bytes: 100 },
      ],
      90_000,
      pacing,
    );
    expect((base + plan[0]!.timestampShift) >>> 0 === (base + 6000 - 90) >>> 0).toBe(true);
    expect(plan[1]!.timestampShift).toBe(0);
  });

  it('fuzzed: send times never decrease; each frame is sent with a later timestamp than the one before; the newest unchanged', () => {
    const random = fuzzRandom(26);
    for (let round = 0; round < 120; round++) {
      let ts = random.int(0x1_0000_0000);
      const packets: Array<{ timestamp: number; bytes: number }> = [];
      const count = 1 + random.int(300);
      for (let i = 0; i < count; i++) {
        if (i > 0 && random.chance(0.4)) ts = (ts + 1 + random.int(9000)) >>> 0;
        packets.push({ timestamp: ts, bytes: 12 + random.int(1200) });
      }
      const clock = random.pick([8000, 48_000, 90_000]);
      const plan = planBurst(packets, clock, {
        headBytes: random.int(100_000),
        bytesPerMs: 1 + random.int(20_000),
      });
      const sent = packets.map((p, i) => (p.timestamp + plan[i]!.timestampShift) >>> 0);
      for (let i = 1; i < count; i++) {
        expect(plan[i]!.atMs).toBeGreaterThanOrEqual(plan[i - 1]!.atMs);
        const step = (sent[i]! - sent[i - 1]!) | 0;
        if (packets[i]!.timestamp === packets[i - 1]!.timestamp) expect(step).toBe(0);
        else expect(step).toBeGreaterThan(0);
      }
      expect(sent[count - 1]).toBe(packets[count - 1]!.timestamp);
    }
  });
});
