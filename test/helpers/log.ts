import { Writable } from 'node:stream';
import pino from 'pino';
import { onTestFailed } from 'vitest';
import { createLogger, type Logger } from '../../core/log.js';

/**
 * The logger of in-process test servers and components: silent, unless `TEST_LOG_LEVEL` names a
 * level (`TEST_LOG_LEVEL=debug npx vitest run <file>`), then JSON lines on stderr. A test-only
 * variable outside the `LOOKOUT_*` namespace, so exporting it in a shell cannot break `lookout`
 * commands (unknown `LOOKOUT_*` variables are configuration errors).
 */
export function testLogger(): Logger {
  const level = process.env.TEST_LOG_LEVEL;
  return level ? pino({ level }, pino.destination(2)) : pino({ level: 'silent' });
}

/** A real JSON logger whose lines a test reads back, parsed, from `lines`. */
export function captureLog(level = 'info'): { lines: Array<Record<string, unknown>>; log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: createLogger({ level, format: 'json', destination }) };
}

/** When the running test fails, prints the captured lines of one component (call it in beforeEach). */
export function printOnTestFailed(
  captured: { lines: Array<Record<string, unknown>> },
  component: string,
): void {
  onTestFailed(() => {
    const lines = captured.lines.filter((l) => l.component === component);
    console.error(lines.map((l) => JSON.stringify(l)).join('\n'));
  });
}
