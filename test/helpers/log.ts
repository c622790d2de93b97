import pino, { type Logger } from 'pino';

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
