import { describe, expect, it } from 'vitest';
import { RtpContinuity } from '../../../media/rtp-continuity.js';

describe('RtpContinuity', () => {
  it('passes a stream through with a constant offset, wrapping at 16/32 bits', () => {
    let now = 0;
    const c = new RtpContinuity(90_000, () => now, 100, 1000);
    expect(c.map({ ssrc: 1, sequenceNumber: 65_534, timestamp: 0xffff_fff0 })).toEqual({
      sequenceNumber: 100,
      timestamp: 1000,
    });
    now += 33;
    expect(c.map({ ssrc: 1, sequenceNumber: 65_535, timestamp: 0xffff_fff0 + 1500 - 2 ** 32 })).toEqual({
      sequenceNumber: 101,
      timestamp: 2500,
    });
    expect(c.map({ ssrc: 1, sequenceNumber: 0, timestamp: (0xffff_fff0 + 3000) >>> 0 })).toEqual({
      sequenceNumber: 102,
      timestamp: 4000,
    });
  });

  it('continues seamlessly when the source restarts with a new SSRC', () => {
    let now = 0;
    const c = new RtpContinuity(90_000, () => now, 500, 9000);
    c.map({ ssrc: 1, sequenceNumber: 10, timestamp: 100 });
    now += 1000;
    const last = c.map({ ssrc: 1, sequenceNumber: 11, timestamp: 100 + 90_000 });
    now += 2000; // the camera was away for two seconds
    const first = c.map({ ssrc: 2, sequenceNumber: 40_000, timestamp: 123_456 });
    expect(first.sequenceNumber).toBe((last.sequenceNumber + 1) & 0xffff);
    expect(first.timestamp).toBe(last.timestamp + 180_000);
    expect(c.map({ ssrc: 2, sequenceNumber: 40_001, timestamp: 123_456 + 3000 })).toEqual({
      sequenceNumber: (last.sequenceNumber + 2) & 0xffff,
      timestamp: last.timestamp + 183_000,
    });
  });

  it('keeps reordered packets in place without moving the baseline back', () => {
    const c = new RtpContinuity(48_000, () => 0, 0, 0);
    c.map({ ssrc: 7, sequenceNumber: 5, timestamp: 0 });
    c.map({ ssrc: 7, sequenceNumber: 7, timestamp: 1920 });
    expect(c.map({ ssrc: 7, sequenceNumber: 6, timestamp: 960 })).toEqual({
      sequenceNumber: 1,
      timestamp: 960,
    });
    expect(c.map({ ssrc: 8, sequenceNumber: 1000, timestamp: 5 })).toMatchObject({ sequenceNumber: 3 });
  });
});
