import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Registry } from '../../../devices/index.js';
import { migrations } from '../../../devices/sqlite/migrations.js';
import { tempDir } from '../../helpers/tmp.js';
import { type RegistryHarness, registrySuite } from './registry-suite.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** SQLite: a registry is a data directory; a second connection opens the same one. */
function sqliteHarness(): RegistryHarness {
  const dirs = new Map<Registry, string>();
  const open = async (dataDir: string, now?: () => number, keyFrom?: Registry) => {
    const keyFile = keyFrom && path.join(dirs.get(keyFrom)!, 'registry.key');
    const reg = await openRegistry({ dataDir, ...(now ? { now } : {}), ...(keyFile ? { keyFile } : {}) });
    cleanups.push(() => reg.close());
    dirs.set(reg, dataDir);
    return reg;
  };
  return {
    open: (options = {}) => {
      const tmp = tempDir();
      cleanups.push(tmp.remove);
      return open(tmp.dir, options.now, options.sameKeyAs);
    },
    connect: (reg) => open(dirs.get(reg)!),
  };
}

registrySuite('sqlite', sqliteHarness);

describe('sqlite registry files', () => {
  it('stores only a keyed hash of a secret, in an owner-only SQLite file beside its key', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const reg = await openRegistry({ dataDir: tmp.dir });
    cleanups.push(() => reg.close());
    const { secret } = await reg.devices.add('front-door', 'Front door');
    const raw = new Database(path.join(tmp.dir, 'lookout.db'), { readonly: true });
    const row = raw.prepare('SELECT * FROM devices').get() as Record<string, unknown>;
    raw.close();
    expect(JSON.stringify(row)).not.toContain(secret.slice(4));
    expect((row.secret_hash as Buffer).length).toBe(32);
    expect(statSync(path.join(tmp.dir, 'registry.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(tmp.dir, 'lookout.db')).subarray(0, 15).toString()).toBe('SQLite format 3');
  });
});

describe('sqlite registry: the node holding each recording (D40)', () => {
  it("migrates a version 5 registry's rows to the local node id, and keeps naming it when the host's name changes", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const old = new Database(path.join(tmp.dir, 'lookout.db'));
    for (const migration of migrations.slice(0, 5)) old.exec(migration);
    old.pragma('user_version = 5');
    old
      .prepare(
        `INSERT INTO segments (device_id, start_ms, end_ms, duration_ms, bytes, video_codec, audio_codec, path, state)
         VALUES ('cam1', 1000, 2000, 1000, 10, 'h264', NULL, 'cam1/a.mp4', 'complete')`,
      )
      .run();
    old
      .prepare(
        "INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason) VALUES ('cam1', 5, NULL, 'server-stopped')",
      )
      .run();
    old.close();

    const first = await openRegistry({ dataDir: tmp.dir, nodeId: 'host-1' });
    expect((await first.recordings.between('cam1', 0, 1e13)).map((s) => [s.path, s.node])).toEqual([
      ['cam1/a.mp4', 'host-1'],
    ]);
    expect((await first.recordings.openGaps('host-1')).map((g) => g.node)).toEqual(['host-1']);
    expect(await first.recordings.totalBytes('host-1')).toBe(10);
    await first.close();

    // A single host renamed: its files are still here, so they are still its own.
    const renamed = await openRegistry({ dataDir: tmp.dir, nodeId: 'host-2' });
    cleanups.push(() => renamed.close());
    expect((await renamed.recordings.byPath('host-2', 'cam1/a.mp4'))?.node).toBe('host-2');
    expect((await renamed.recordings.inState('complete', 'host-2')).length).toBe(1);
    expect(await renamed.recordings.openGaps('host-1')).toEqual([]);
    expect((await renamed.recordings.openGaps('host-2')).length).toBe(1);
  });
});
