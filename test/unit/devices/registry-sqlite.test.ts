import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Registry } from '../../../devices/index.js';
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
