import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openDatabase } from '../../../devices/sqlite/db.js';
import { migrations } from '../../../devices/sqlite/migrations.js';
import { tempDir } from '../../helpers/tmp.js';

describe('migration 3 (gap reasons disk-full and server-stopped)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('keeps the gaps of a version 2 registry and accepts the new reasons, nothing else', () => {
    const old = new Database(path.join(tmp.dir, DATABASE_FILE));
    old.exec(migrations[0]!);
    old.exec(migrations[1]!);
    old.pragma('user_version = 2');
    old
      .prepare(
        "INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason) VALUES ('cam1', 1, 2, 'server-down')",
      )
      .run();
    old
      .prepare(
        "INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason) VALUES ('cam1', 3, NULL, 'camera-offline')",
      )
      .run();
    expect(() =>
      old
        .prepare("INSERT INTO recording_gaps (device_id, start_ms, reason) VALUES ('cam1', 5, 'disk-full')")
        .run(),
    ).toThrow(/CHECK/);
    old.close();

    const db = openDatabase(tmp.dir);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
      expect(db.prepare('SELECT id, start_ms, end_ms, reason FROM recording_gaps ORDER BY id').all()).toEqual(
        [
          { id: 1, start_ms: 1, end_ms: 2, reason: 'server-down' },
          { id: 2, start_ms: 3, end_ms: null, reason: 'camera-offline' },
        ],
      );
      const insert = db.prepare(
        "INSERT INTO recording_gaps (device_id, start_ms, reason) VALUES ('cam1', 9, ?)",
      );
      expect(Number(insert.run('disk-full').lastInsertRowid)).toBe(3);
      insert.run('server-stopped');
      expect(() => insert.run('bogus')).toThrow(/CHECK/);
      // The index came along.
      const indexes = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recording_gaps'")
        .all();
      expect(indexes).toEqual([{ name: 'gaps_by_device_time' }]);
    } finally {
      db.close();
    }
  });
});
