import { describe, expect, it } from 'vitest';
import { KeyframeInterval, SrtpHoldBuffer } from '../../../media/srtp-hold.js';
import { fuzzRandom } from '../../helpers/random.js';

const LIMITS = { maxBytes: 1000, maxWindowMs: 5000 };

function buffer() {
  let now = 0;
  const held = new SrtpHoldBuffer(LIMITS, () => now);
  return { held, at: (ms: number) => (now = ms) };
}

describe('SrtpHoldBuffer', () => {
  it('keeps the packets of the window, oldest first, with their rollover counters', () => {
    const { held, at } = buffer();
    for (let i = 0; i < 10; i++) {
      at(i * 100);
      held.push(Buffer.from([i]), i >= 5 ? 1 : 0, 450);
    }
    // At 900 ms a 450 ms window keeps what arrived from 450 ms on.
    expect(held.count).toBe(5);
    expect(held.bytes).toBe(5);
    expect(held.dropped).toBe(5);
    const taken = held.take();
    expect(taken.map((p) => [p.data[0], p.rolloverCounter, p.at])).toEqual([
      [5, 1, 500],
      [6, 1, 600],
      [7, 1, 700],
      [8, 1, 800],
      [9, 1, 900],
    ]);
    expect(held.count).toBe(0);
    expect(held.bytes).toBe(0);
    expect(held.take()).toEqual([]);
  });

  it('holds no more than its byte bound, and no longer than its longest window, whatever is asked', () => {
    const { held, at } = buffer();
    for (let i = 0; i < 30; i++) {
      at(i);
      held.push(Buffer.alloc(100, i), 0, 60_000);
    }
    expect(held.bytes).toBe(1000);
    expect(held.take().map((p) => p.data[0])).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    at(10_000);
    held.push(Buffer.alloc(10), 0, 60_000);
    at(16_000);
    held.push(Buffer.alloc(10), 0, 60_000); // the first is 6 s old: past maxWindowMs
    expect(held.count).toBe(1);
  });

  it('always keeps the newest packet, even one over the byte bound on its own', () => {
    const { held } = buffer();
    held.push(Buffer.alloc(5000), 0, 1000);
    expect(held.count).toBe(1);
    held.push(Buffer.alloc(10), 0, 1000);
    expect(held.take().map((p) => p.data.length)).toEqual([10]);
  });

  it('stays correct over many packets (its array is compacted, not shifted)', () => {
    const { held, at } = buffer();
    for (let i = 0; i < 20_000; i++) {
      at(i);
      held.push(Buffer.from([i & 0xff]), 0, 99);
    }
    const taken = held.take();
    expect(taken).toHaveLength(100);
    expect(taken[0]!.at).toBe(19_900);
    expect(taken[99]!.at).toBe(19_999);
  });
});

describe('SrtpHoldBuffer against a plain list (seeded)', () => {
  it('holds the same bytes as a list of copies would, through compactions and growth', () => {
    const random = fuzzRandom(0x401d);
    const limits = { maxBytes: 200_000, maxWindowMs: 3000 };
    let now = 0;
    const held = new SrtpHoldBuffer(limits, () => now);
    let model: Array<{ data: Buffer; roc: number; at: number }> = [];
    let modelBytes = 0;
    for (let step = 0; step < 20_000; step++) {
      now += random.int(12);
      const data = random.bytes(1 + random.int(random.int(10) === 0 ? 20_000 : 1400));
      const roc = random.int(4);
      const windowMs = 500 + random.int(4000);
      held.push(data, roc, windowMs);
      model.push({ data: Buffer.from(data), roc, at: now });
      modelBytes += data.length;
      data.fill(0); // the buffer must have copied it
      const oldest = now - Math.min(windowMs, limits.maxWindowMs);
      while (model.length > 1 && (model[0]!.at < oldest || modelBytes > limits.maxBytes)) {
        modelBytes -= model.shift()!.data.length;
      }
      if (random.int(500) === 0 || step === 19_999) {
        const taken = held.take();
        expect(taken.map((p) => [p.rolloverCounter, p.at])).toEqual(model.map((p) => [p.roc, p.at]));
        expect(Buffer.concat(taken.map((p) => p.data)).equals(Buffer.concat(model.map((p) => p.data)))).toBe(
          true,
        );
        model = [];
        modelBytes = 0;
      } else {
        expect(held.count).toBe(model.length);
        expect(held.bytes).toBe(modelBytes);
        expect(held.capacity).toBeLessThanOrEqual(3 * limits.maxBytes);
      }
    }
  });
});

describe('KeyframeInterval', () => {
  it('asks for the longest window until two keyframes were seen', () => {
    const interval = new KeyframeInterval(LIMITS);
    expect(interval.holdWindowMs()).toBe(5000);
    interval.keyframe(90_000);
    expect(interval.holdWindowMs()).toBe(5000);
  });

  it('holds twice the longest recent interval plus a second, an early (requested) keyframe included', () => {
    const interval = new KeyframeInterval({ maxBytes: 1, maxWindowMs: 20_000 });
    interval.keyframe(0);
    interval.keyframe(180_000); // 2 s
    expect(interval.holdWindowMs()).toBe(5000);
    interval.keyframe(180_000 + 27_000); // 300 ms later: a PLI's keyframe
    expect(interval.holdWindowMs()).toBe(5000);
    // Four later 1 s intervals push the 2 s one out.
    for (let i = 1; i <= 4; i++) interval.keyframe(207_000 + i * 90_000);
    expect(interval.holdWindowMs()).toBe(3000);
  });

  it('reads intervals across a 32-bit timestamp wrap, and none across a new session', () => {
    const interval = new KeyframeInterval({ maxBytes: 1, maxWindowMs: 20_000 });
    interval.keyframe(0xffff_ffff - 89_999);
    interval.keyframe(0); // 90,000 ticks later: 1 s
    expect(interval.holdWindowMs()).toBe(3000);
    interval.sessionEnded();
    interval.keyframe(123); // a new encoder's random timestamps: no interval
    expect(interval.holdWindowMs()).toBe(3000);
  });

  it('caps the window at its longest, for a camera whose keyframes are rare', () => {
    const interval = new KeyframeInterval(LIMITS);
    interval.keyframe(0);
    interval.keyframe(4 * 90_000);
    expect(interval.holdWindowMs()).toBe(5000);
  });
});
