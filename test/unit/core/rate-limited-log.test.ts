import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from '../../../core/rate-limited-log.js';
import { captureLog } from '../../helpers/log.js';

function capture() {
  const { lines, log } = captureLog();
  return { lines, logger: log };
}

describe('RateLimitedLog', () => {
  it('logs one line per key and interval, then reports how many it suppressed', () => {
    const { lines, logger } = capture();
    let clock = 0;
    const log = new RateLimitedLog(logger, () => clock, 10_000);
    for (let i = 0; i < 100; i++) log.warn('auth:1.2.3.4', { client: '1.2.3.4' }, 'TURN credentials refused');
    log.warn('auth:5.6.7.8', { client: '5.6.7.8' }, 'TURN credentials refused');
    clock = 10_000;
    log.warn('auth:1.2.3.4', { client: '1.2.3.4' }, 'TURN credentials refused');
    expect(lines.map((l) => [l.client, l.suppressed])).toEqual([
      ['1.2.3.4', undefined],
      ['5.6.7.8', undefined],
      ['1.2.3.4', 99],
    ]);
  });

  it('holds one message to 20 lines per interval across all keys, then counts the rest in one line', () => {
    const { lines, logger } = capture();
    let clock = 0;
    const log = new RateLimitedLog(logger, () => clock, 10_000);
    // A flood from 5000 source addresses: one key each, so the per-key limit never bites.
    for (let i = 0; i < 5000; i++) {
      const client = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
      log.warn(`malformed:${client}`, { client }, 'malformed TURN packet dropped');
    }
    log.warn('auth:1.2.3.4', { client: '1.2.3.4' }, 'TURN credentials refused'); // its own cap
    expect(lines).toHaveLength(21);
    clock = 10_000;
    log.warn('malformed:192.0.2.1', { client: '192.0.2.1' }, 'malformed TURN packet dropped');
    expect(lines.slice(21).map((l) => [l.msg, l.suppressed, l.client])).toEqual([
      ['malformed TURN packet dropped: 4980 more suppressed (over 20 lines in 10 s)', 4980, undefined],
      ['malformed TURN packet dropped', undefined, '192.0.2.1'],
    ]);
  });
});
