import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LogOptions {
  level: string;
  format: LogFormat;
  /** Where log lines go; defaults to stderr so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
}

/**
 * The one structured logger. Components get children (`log.child({ component: 'broker' })`),
 * cameras get grandchildren (`{ device: 'front-door' }`).
 */
export function createLogger(options: LogOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const pretty = options.format === 'pretty' || (options.format === 'auto' && isTty(destination));
  if (pretty) {
    // pino-pretty as a synchronous stream (no worker thread), so tests and short CLI runs flush.
    const stream = pinoPretty({
      destination,
      colorize: isTty(destination),
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
    });
    return pino({ level: options.level, base: null }, stream);
  }
  return pino({ level: options.level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * A logger that drops everything: for library users who bring none. (Tests use `testLogger()`
 * from test/helpers, which `TEST_LOG_LEVEL=debug` turns on; nothing here reads the environment.)
 */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}
