import { chmodSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LookoutError } from '../../../core/errors.js';
import { openRegistry } from '../../../devices/index.js';
import { tempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  return path.join(tmp.dir, 'nested', 'data');
}

const mode = (file: string) => statSync(file).mode & 0o777;
const FILES = ['lookout.db', 'lookout.db-wal', 'lookout.db-shm', 'registry.key'];

describe('registry files (issue 9 item 8)', () => {
  it('are owner-only even with a permissive umask: database, -wal, -shm and key 0600, data dir 0700', async () => {
    const dir = dataDir();
    const previous = process.umask(0);
    try {
      const registry = await openRegistry({ dataDir: dir });
      cleanups.push(() => registry.close());
      await registry.tokens.create('a write, so the WAL has content');
      for (const file of FILES) expect(mode(path.join(dir, file)), file).toBe(0o600);
      expect(mode(dir)).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('narrows the files of a registry an older Lookout left world-readable', async () => {
    const dir = dataDir();
    await (await openRegistry({ dataDir: dir })).close();
    chmodSync(path.join(dir, 'lookout.db'), 0o644);
    const registry = await openRegistry({ dataDir: dir });
    cleanups.push(() => registry.close());
    await registry.tokens.create('write');
    for (const file of FILES) expect(mode(path.join(dir, file)), file).toBe(0o600);
  });

  it('with create: false, refuses a missing registry and creates nothing', async () => {
    const dir = dataDir();
    let error: unknown;
    try {
      await openRegistry({ dataDir: dir, create: false });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LookoutError);
    expect((error as LookoutError).code).toBe('REGISTRY_NOT_FOUND');
    expect((error as LookoutError).message).toBe(`no registry at ${dir}`);
    expect(existsSync(path.dirname(dir))).toBe(false);

    await (await openRegistry({ dataDir: dir })).close();
    await (await openRegistry({ dataDir: dir, create: false })).close();
  });
});
