import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LookoutError } from '../../core/errors.js';
import { makePrivateDir } from '../../core/private-dir.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'lookout.db';

/** Owner-only, like registry.key: the database holds secret hashes, token hashes and the device list. */
const FILE_MODE = 0o600;

/**
 * Opens (creating if needed) the registry database in `dataDir` with WAL, a busy
 * timeout (the CLI and a running server share the file) and all migrations applied.
 * The database and its `-wal`/`-shm` files are owner-only (0600), the data directory
 * 0700 when created here.
 */
export function openDatabase(dataDir: string, options: { create?: boolean } = {}): Db {
  const create = options.create ?? true;
  const file = path.join(dataDir, DATABASE_FILE);
  if (!create && !existsSync(file)) {
    throw new LookoutError('REGISTRY_NOT_FOUND', `no registry at ${path.resolve(dataDir)}`, {
      dataDir: path.resolve(dataDir),
    });
  }
  makePrivateDir(dataDir);
  restrictToOwner(file);
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: !create });
  } catch (err) {
    throw new LookoutError(
      'REGISTRY_OPEN_FAILED',
      `cannot open registry ${file}: ${(err as Error).message}`,
      { file },
    );
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw asDiskFull(err, `cannot open registry ${file}`) ?? err;
  }
  return db;
}

/**
 * SQLite creates a database 0644 (less the umask) and gives its -wal and -shm files the
 * database's mode. So the file is created 0600 before SQLite opens it, and the files of a
 * registry made by an older Lookout are narrowed to 0600 too.
 */
function restrictToOwner(file: string): void {
  closeSync(openSync(file, 'a', FILE_MODE));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(f)) continue;
    try {
      chmodSync(f, FILE_MODE);
    } catch (err) {
      // Not our file (another user's registry we may read): leave its mode to its owner.
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

/**
 * A registry write that failed because the disk is full (SQLite's SQLITE_FULL, or ENOSPC
 * from the file system) as a coded error: DISK_FULL, one line for the CLI and the logs.
 * Undefined for any other failure.
 */
export function asDiskFull(err: unknown, what: string): LookoutError | undefined {
  const code = (err as { code?: unknown })?.code;
  if (code !== 'SQLITE_FULL' && code !== 'ENOSPC') return undefined;
  return new LookoutError(
    'DISK_FULL',
    `${what}: the disk holding the data directory is full; free some space and try again`,
    {},
    { cause: err },
  );
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new LookoutError(
      'REGISTRY_TOO_NEW',
      `registry schema version ${current} is newer than this Lookout knows (${migrations.length}); upgrade Lookout`,
      { current, known: migrations.length },
    );
  }
  for (let version = current; version < migrations.length; version++) {
    // IMMEDIATE: two processes starting at once must not both migrate.
    db.transaction(() => {
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now > version) return;
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
