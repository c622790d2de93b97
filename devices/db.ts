import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LookoutError } from '../core/errors.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'lookout.db';

/**
 * Opens (creating if needed) the registry database in `dataDir` with WAL, a busy
 * timeout (the CLI and a running server share the file) and all migrations applied.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, DATABASE_FILE);
  let db: Db;
  try {
    db = new Database(file);
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
