import { describe, expect, it } from 'vitest';
import { parseRange, parseTime } from '../../../recordings/time-range.js';

const now = Date.parse('2026-11-24T12:00:00Z');

describe('times as people type them', () => {
  it('reads relative times', () => {
    expect(parseTime('-90s', now)).toBe(now - 90_000);
    expect(parseTime('-1h', now)).toBe(now - 3_600_000);
    expect(parseTime('-1h30m', now)).toBe(now - 5_400_000);
    expect(parseTime('-2d', now)).toBe(now - 2 * 86_400_000);
    expect(parseTime('now', now)).toBe(now);
  });

  it('reads ISO 8601, UTC when no zone is given', () => {
    expect(parseTime('2026-11-24T10:00:00Z', now)).toBe(Date.parse('2026-11-24T10:00:00Z'));
    expect(parseTime('2026-11-24T10:00:00+01:00', now)).toBe(Date.parse('2026-11-24T09:00:00Z'));
    expect(parseTime('2026-11-24T10:00', now)).toBe(Date.parse('2026-11-24T10:00:00Z'));
    expect(parseTime('2026-11-24 10:00:05.250', now)).toBe(Date.parse('2026-11-24T10:00:05.250Z'));
    expect(parseTime('2026-11-24', now)).toBe(Date.parse('2026-11-24T00:00:00Z'));
    expect(parseTime('2024-02-29', now)).toBe(Date.parse('2024-02-29T00:00:00Z'));
  });

  it('refuses anything else with the accepted forms', () => {
    // Days that are not on the calendar, and offsets beyond any date a Date can hold.
    for (const bad of [
      'yesterday',
      '1h',
      '-1x',
      '2026-13-45T99:00',
      '',
      '-',
      '2026-02-30',
      '2026-04-31T10:00Z',
      '-999999999d',
      '-99999999w',
    ]) {
      expect(() => parseTime(bad, now)).toThrow(/relative time such as -90s/);
    }
  });

  it('checks that a range ends after it starts', () => {
    expect(parseRange('-90s', '-10s', now)).toEqual({ fromMs: now - 90_000, toMs: now - 10_000 });
    expect(parseRange(undefined, undefined, now)).toEqual({ fromMs: now - 86_400_000, toMs: now });
    expect(() => parseRange('-10s', '-90s', now)).toThrow(/ends .* before it starts/);
  });
});
