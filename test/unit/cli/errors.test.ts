import { describe, expect, it } from 'vitest';
import { describeFailure, verboseRequested } from '../../../cli/errors.js';
import { LookoutError } from '../../../core/errors.js';

/** An error as Node's fs (or better-sqlite3) raises it: a code and, for fs, a message starting with it. */
function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('describeFailure: what lookout prints when a command fails (issue 9 item 23)', () => {
  it('prints a LookoutError as one line with its code; invalid configuration exits 2', () => {
    expect(describeFailure(new LookoutError('DEVICE_NOT_FOUND', "no device 'x'"), false)).toEqual({
      text: "lookout: no device 'x' [DEVICE_NOT_FOUND]\n",
      exitCode: 1,
    });
    expect(describeFailure(new LookoutError('CONFIG_INVALID', 'bad'), false).exitCode).toBe(2);
  });

  it.each([
    ['EACCES', "EACCES: permission denied, mkdir '/srv/lookout'", "permission denied, mkdir '/srv/lookout'"],
    ['ENOSPC', 'ENOSPC: no space left on device, write', 'no space left on device, write'],
    [
      'EROFS',
      "EROFS: read-only file system, open '/mnt/ro/lookout.db'",
      "read-only file system, open '/mnt/ro/lookout.db'",
    ],
    ['SQLITE_FULL', 'database or disk is full', 'database or disk is full'],
    ['SQLITE_READONLY', 'attempt to write a readonly database', 'attempt to write a readonly database'],
  ])('prints an environment error (%s) as one line, no stack', (code, message, shown) => {
    const failure = describeFailure(systemError(code, message), false);
    expect(failure).toEqual({ text: `lookout: ${shown} [${code}]\n`, exitCode: 1 });
  });

  it('adds the stack only when verbose', () => {
    const err = systemError('EACCES', "EACCES: permission denied, open '/x'");
    const verbose = describeFailure(err, true).text;
    expect(verbose.startsWith("lookout: permission denied, open '/x' [EACCES]\n")).toBe(true);
    expect(verbose).toContain('    at ');
    expect(describeFailure(new LookoutError('X', 'y'), true).text).toContain('    at ');
  });

  it('prints anything else (a bug) with its stack', () => {
    const failure = describeFailure(new TypeError('undefined is not a function'), false);
    expect(failure.exitCode).toBe(1);
    expect(failure.text).toMatch(
      /^lookout: unexpected error: TypeError: undefined is not a function\n {4}at /,
    );
    // A code that is not an OS or SQLite code does not make a bug look like the environment's fault.
    expect(describeFailure(systemError('ERR_INVALID_ARG_TYPE', 'bad arg'), false).text).toContain(
      'unexpected error',
    );
  });

  it('reads --log-level debug or trace from the command line', () => {
    expect(verboseRequested(['node', 'main', 'device', 'list', '--log-level', 'debug'])).toBe(true);
    expect(verboseRequested(['node', 'main', 'serve', '--log-level=trace'])).toBe(true);
    expect(verboseRequested(['node', 'main', 'serve', '--log-level', 'info'])).toBe(false);
    expect(verboseRequested(['node', 'main', 'device', 'add', 'debug'])).toBe(false);
  });
});
