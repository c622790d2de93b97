import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LookoutError } from '../core/errors.js';
import { isProcessRunning } from '../core/pid.js';
import { makePrivateDir } from '../core/private-dir.js';

/** Held by the one server of a data directory; never deleted (see acquire). */
export const LOCK_FILE = 'serve.lock';
/** The holder's PID, for the message a second server prints. Informational only. */
export const PID_FILE = 'serve.pid';

/** The data directory's server lock, held until release() or until the process ends, however it ends. */
export interface DataDirLock {
  readonly dataDir: string;
  /** Idempotent. */
  release(): void;
}

export interface LockOptions {
  /** This process's PID (injectable for tests). */
  pid?: number;
  /** Whether a PID read from the PID file is a live process; a dead one's PID is not named. */
  isRunning?: (pid: number) => boolean;
}

/**
 * Takes the data directory's server lock, or throws `DATA_DIR_LOCKED` naming the holder's PID.
 * Call before anything else touches the directory: a second server must not mark devices
 * offline or "recover" the first one's live segments.
 *
 * The lock is an exclusive SQLite lock on `serve.lock` (an fcntl() lock underneath, which the
 * kernel drops when its process ends, kill -9 included), not the mere existence of a PID file:
 * a stale PID file can neither block a restart nor be "taken over" by two starting servers
 * at once, and a recycled PID (a container's server is often PID 1) cannot fake a live holder.
 * The lock file itself is never deleted, because a second server could then lock a new file
 * while the first still holds the old one. CLI commands do not take it: they share the
 * registry with a running server (SQLite WAL).
 */
export function lockDataDir(dataDir: string, options: LockOptions = {}): DataDirLock {
  const pid = options.pid ?? process.pid;
  const dir = path.resolve(dataDir);
  makePrivateDir(dir);
  const lockFile = path.join(dir, LOCK_FILE);
  closeSync(openSync(lockFile, 'a', 0o600));
  let db: Database.Database;
  try {
    // timeout 0: a held lock answers SQLITE_BUSY at once instead of after the default 5 s.
    db = new Database(lockFile, { timeout: 0 });
  } catch (err) {
    throw new LookoutError('DATA_DIR_LOCK_FAILED', `cannot open ${lockFile}: ${(err as Error).message}`, {
      file: lockFile,
    });
  }
  try {
    // In EXCLUSIVE locking mode SQLite keeps the lock of the first write transaction until close().
    // Nothing is ever written: the journal (of the empty transaction) stays in memory, no file beside.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    const holder = readHolder(dir, options.isRunning ?? isProcessRunning);
    throw new LookoutError(
      'DATA_DIR_LOCKED',
      `data directory ${dir} is in use by another lookout serve (${holder === undefined ? 'pid unknown' : `pid ${holder}`}); stop it first, or give this one another --data-dir`,
      { dataDir: dir, ...(holder === undefined ? {} : { pid: holder }) },
    );
  }
  const pidFile = path.join(dir, PID_FILE);
  // Written after the lock is ours (temp file + rename, so a reader never sees half a number).
  const tmp = `${pidFile}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o600 });
  renameSync(tmp, pidFile);
  let released = false;
  return {
    dataDir: dir,
    release() {
      if (released) return;
      released = true;
      if (readPid(pidFile) === pid) rmSync(pidFile, { force: true });
      db.close();
    },
  };
}

function readHolder(dir: string, running: (pid: number) => boolean): number | undefined {
  const pid = readPid(path.join(dir, PID_FILE));
  return pid !== undefined && running(pid) ? pid : undefined;
}

function readPid(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
