import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.js';
import { RateLimitedLog } from '../../../turn/rate-limited-log.js';

describe('RateLimitedLog', () => {
  it('logs one line per key and interval, then reports how many it suppressed', () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    let clock = 0;
    const log = new RateLimitedLog(
      createLogger({ level: 'info', format: 'json', destination }),
      () => clock,
      10_000,
    );
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
});
