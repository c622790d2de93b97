import { LookoutError } from '../core/errors.js';

/** What `lookout` prints for an error that ended a command, and its exit code. */
export interface CliFailure {
  text: string;
  exitCode: number;
}

/**
 * One line for what a user can act on: a LookoutError (`lookout: <message> [CODE]`) or an
 * operating-system or SQLite error (a read-only or full disk, a missing permission:
 * `lookout: permission denied, mkdir '/srv/x' [EACCES]`). The stack follows only when
 * `verbose` (--log-level debug). Anything else is a bug: its stack is always printed.
 * Exit code 2 for invalid configuration, else 1.
 */
export function describeFailure(err: unknown, verbose: boolean): CliFailure {
  const stack = (e: Error) => (verbose && e.stack ? `\n${e.stack}` : '');
  if (err instanceof LookoutError) {
    return {
      text: `lookout: ${err.message} [${err.code}]${stack(err)}\n`,
      exitCode: err.code === 'CONFIG_INVALID' ? 2 : 1,
    };
  }
  const code = systemCode(err);
  if (code !== undefined) {
    const e = err as Error;
    // Node's messages start with the code ("EACCES: permission denied, ..."): say it once, at the end.
    const message = e.message.startsWith(`${code}: `) ? e.message.slice(code.length + 2) : e.message;
    return { text: `lookout: ${message} [${code}]${stack(e)}\n`, exitCode: 1 };
  }
  return {
    text: `lookout: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`,
    exitCode: 1,
  };
}

/** `EACCES`, `ENOSPC`, `EROFS`, `EADDRINUSE`..., or `SQLITE_FULL`, `SQLITE_READONLY`...: the environment, not a bug. */
function systemCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  return /^E[A-Z0-9]+$/.test(code) || /^SQLITE_[A-Z_]+$/.test(code) ? code : undefined;
}

/** Whether the command line asks for debug output (`--log-level debug|trace`, also `--log-level=debug`). */
export function verboseRequested(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const level =
      arg === '--log-level' ? argv[i + 1] : arg.startsWith('--log-level=') ? arg.slice(12) : undefined;
    if (level === 'debug' || level === 'trace') return true;
  }
  return false;
}
