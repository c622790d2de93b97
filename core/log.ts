import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LogOptions {
  level: string;
  format: LogFormat;
  /**
   * Where log lines go: a stream, or a file descriptor. Defaults to stderr (fd 2) so stdout
   * stays clean for command output.
   */
  destination?: NodeJS.WritableStream | number;
}

/**
 * The one structured logger. Components get children (`log.child({ component: 'broker' })`),
 * cameras get grandchildren (`{ device: 'front-door' }`).
 *
 * Logging never kills the process: a line that cannot be written (a full disk under the log
 * file, a closed pipe) is dropped and counted, and the next line that can be written is
 * preceded by one saying how many were lost (issue 9, item 5: an ENOSPC on stderr used to
 * reach the uncaught-exception handler and end the server).
 */
export function createLogger(options: LogOptions): Logger {
  const target = options.destination ?? STDERR;
  const pretty = options.format === 'pretty' || (options.format === 'auto' && isTty(target));
  if (pretty) {
    // pino-pretty's formatter, called synchronously per line (no stream, no worker thread), so
    // tests and short CLI runs flush and the safe destination stays the only writer.
    const format = prettyFactory({ colorize: isTty(target), translateTime: 'SYS:HH:MM:ss.l' });
    const destination = new SafeDestination(target, 'text', (line) => format(line));
    return pino({ level: options.level, base: null }, destination);
  }
  const destination = new SafeDestination(target, 'json');
  return pino({ level: options.level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * A logger that drops everything: for library users who bring none. (Tests use `testLogger()`
 * from test/helpers, which `TEST_LOG_LEVEL=debug` turns on; nothing here reads the environment.)
 */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Makes the process's own stdout and stderr streams harmless when a write fails: without a
 * listener, a failed write (EPIPE, ENOSPC, EIO) is an 'error' event nobody handles, which
 * is an uncaught exception. Whatever still writes there (a library's console.warn, a
 * command's output) then loses that line instead of ending a running server. Idempotent.
 */
export function guardStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.listeners('error').includes(ignoreStdioError)) stream.on('error', ignoreStdioError);
  }
}

function ignoreStdioError(): void {
  // The line is lost; there is nowhere left to say so.
}

const STDERR = 2;

/**
 * pino's destination: writes each line whole (synchronously to a file descriptor, as
 * Node's stderr does on Linux), never throws and never emits 'error'. Lines it cannot
 * write are counted and reported once writing works again.
 */
class SafeDestination {
  #lost = 0;
  #lastError = '';

  constructor(
    private readonly target: NodeJS.WritableStream | number,
    private readonly format: 'json' | 'text',
    private readonly transform: (line: string) => string = (line) => line,
  ) {
    // A stream's failed write is an 'error' event: handled here, so it is never uncaught.
    if (typeof target !== 'number') target.on('error', (err: Error) => this.#failed(err));
  }

  write(line: string): boolean {
    if (this.#lost > 0 && this.#put(this.#lostLine())) this.#lost = 0;
    let out = line;
    try {
      out = this.transform(line);
    } catch {
      // An unformattable line is still worth writing as it came.
    }
    if (!this.#put(out)) this.#lost++;
    return true;
  }

  #put(line: string): boolean {
    const target = this.target;
    try {
      if (typeof target !== 'number') {
        if ((target as { destroyed?: boolean }).destroyed) return false;
        target.write(line);
        return true;
      }
      const bytes = Buffer.from(line);
      let offset = 0;
      let retries = 0;
      while (offset < bytes.length) {
        try {
          offset += writeSync(target, bytes, offset);
        } catch (err) {
          // A non-blocking pipe that is full: try a little longer, then drop the line.
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || ++retries > 1000) throw err;
        }
      }
      return true;
    } catch (err) {
      this.#failed(err as Error);
      return false;
    }
  }

  #failed(err: Error): void {
    this.#lastError = (err as NodeJS.ErrnoException).code ?? err.message;
  }

  #lostLine(): string {
    const message = `${this.#lost} log lines were lost (${this.#lastError})`;
    if (this.format === 'text') return `${message}\n`;
    return `${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: message })}\n`;
  }
}

function isTty(target: NodeJS.WritableStream | number): boolean {
  if (typeof target === 'number') return isatty(target);
  return (target as { isTTY?: boolean }).isTTY === true;
}
