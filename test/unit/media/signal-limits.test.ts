import { describe, expect, it } from 'vitest';
import { entryForPayloadType } from '../../../media/payload-type-demux.js';
import { SignalLimiter } from '../../../media/signaling/signal-limiter.js';
import { TokenBucket } from '../../../media/signaling/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then the refill rate, and says when the next token comes', () => {
    const bucket = new TokenBucket(3, 2, 0);
    expect([0, 0, 0, 0].map(() => bucket.take(0))).toEqual([true, true, true, false]);
    expect(bucket.msUntilToken(0)).toBe(500);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(500)).toBe(true);
    expect(bucket.full(500)).toBe(false);
    expect(bucket.full(2000)).toBe(true); // refills to capacity, not beyond
    expect([0, 0, 0, 0].map(() => bucket.take(10_000))).toEqual([true, true, true, false]);
  });

  it('ignores a clock that steps back', () => {
    const bucket = new TokenBucket(1, 1, 1000);
    expect(bucket.take(1000)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(1999)).toBe(false);
    expect(bucket.take(2000)).toBe(true);
  });
});

describe('SignalLimiter', () => {
  const limits = { deviceRatePerSecond: 10, deviceBurst: 5, totalRatePerSecond: 100, totalBurst: 12 };

  it('holds one device to its own bucket without draining the others', () => {
    const limiter = new SignalLimiter(limits, 0);
    const flood = Array.from({ length: 1000 }, () => limiter.admit('flooder', 0));
    expect(flood.filter((v) => v === 'ok')).toHaveLength(5);
    expect(flood.filter((v) => v === 'device-limit')).toHaveLength(995);
    expect(limiter.admit('quiet', 0)).toBe('ok');
    expect(limiter.admit('flooder', 100)).toBe('ok'); // 10/s: one token after 100 ms
  });

  it('holds all devices together to the total bucket', () => {
    const limiter = new SignalLimiter(limits, 0);
    const verdicts = Array.from({ length: 20 }, (_, i) => limiter.admit(`cam${i}`, 0));
    expect(verdicts.filter((v) => v === 'ok')).toHaveLength(12);
    expect(verdicts.filter((v) => v === 'total-limit')).toHaveLength(8);
  });

  it('keeps a bounded number of device buckets however many ids it sees', () => {
    const limiter = new SignalLimiter({ ...limits, totalBurst: 1e9, totalRatePerSecond: 1e9 }, 0);
    for (let i = 0; i < 10_000; i++) limiter.admit(`cam${i}`, i * 1000);
    expect(limiter.trackedDevices).toBeLessThanOrEqual(4096);
  });
});

describe('entryForPayloadType (RFC 8843 §9.2)', () => {
  const entries = [
    { media: [96, 98], rtx: [97, 99] },
    { media: [111, 0], rtx: [] },
  ];

  it('finds the one media section that negotiated a payload type, and its role', () => {
    expect(entryForPayloadType(entries, 96)).toEqual({ index: 0, rtx: false });
    expect(entryForPayloadType(entries, 99)).toEqual({ index: 0, rtx: true });
    expect(entryForPayloadType(entries, 0)).toEqual({ index: 1, rtx: false });
  });

  it('refuses a payload type no section or several sections use', () => {
    expect(entryForPayloadType(entries, 35)).toBeUndefined();
    expect(entryForPayloadType([...entries, { media: [96], rtx: [] }], 96)).toBeUndefined();
  });
});
