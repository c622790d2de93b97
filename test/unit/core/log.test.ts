import { closeSync, openSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/log.js';

/** A stream whose writes fail (as a full disk's do) until `failing` is set to false. */
function flakyStream() {
  const lines: string[] = [];
  const state = { failing: true };
  const stream = new Writable({
    write(chunk, _encoding, done) {
      if (state.failing) {
        done(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        return;
      }
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, state, stream };
}

describe('createLogger', () => {
  it('never throws when the file descriptor it writes to is full (/dev/full: ENOSPC)', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      for (const format of ['json', 'pretty'] as const) {
        const log = createLogger({ level: 'info', format, destination: fd });
        for (let i = 0; i < 100; i++) log.warn({ i }, 'this line cannot be written');
        log.child({ component: 'x' }).error({ err: new Error('boom') }, 'nor this one');
      }
    } finally {
      closeSync(fd);
    }
  });

  it('a stream that fails is an error handled inside the logger, never an uncaught one', async () => {
    const { stream } = flakyStream();
    const log = createLogger({ level: 'info', format: 'json', destination: stream });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      log.warn('one');
      await new Promise((resolve) => setImmediate(resolve));
      log.warn('two');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('says how many lines were lost once writing works again', () => {
    // A full disk that gets space back (the real one is in test/e2e/log-full-disk.test.ts).
    const written: string[] = [];
    let failing = true;
    const target = {
      write(line: string) {
        if (failing) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        written.push(line);
        return true;
      },
      on() {
        return target;
      },
    } as unknown as NodeJS.WritableStream;
    const log = createLogger({ level: 'info', format: 'json', destination: target });
    for (let i = 0; i < 3; i++) log.info({ i }, 'lost');
    failing = false;
    log.info('kept');
    const lines = written.map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(['3 log lines were lost (ENOSPC)', 'kept']);
  });
});
