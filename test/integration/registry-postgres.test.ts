import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, type PostgresOptions, type Registry } from '../../devices/index.js';
import { postgresMigrations } from '../../devices/postgres/migrations.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';
import { type RegistryHarness, registrySuite } from '../unit/devices/registry-suite.js';

const enabled = havePostgres();
let server: TestPostgres;
const tmp = tempDir();
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  if (enabled) server = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await server?.stop();
  tmp.remove();
});

let keys = 0;
function newKeyFile(): string {
  const file = path.join(tmp.dir, `key-${++keys}`);
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return file;
}

/**
 * The slow safety poll is off (a minute): device events reach a watcher only by LISTEN/NOTIFY,
 * so the shared suite's watcher tests prove NOTIFY works.
 */
function options(url: string, extra: Partial<PostgresOptions> = {}): PostgresOptions {
  return { url, poolSize: 4, statementTimeoutMs: 5000, eventPollMs: 60_000, ...extra };
}

async function open(
  url: string,
  keyFile: string,
  extra: { now?: () => number; pg?: Partial<PostgresOptions> } = {},
) {
  const reg = await openRegistry({
    dataDir: tmp.dir,
    keyFile,
    postgres: options(url, extra.pg),
    ...(extra.now ? { now: extra.now } : {}),
  });
  cleanups.push(() => reg.close());
  return reg;
}

/** PostgreSQL: a registry is a database (one per test) and a key file. */
function postgresHarness(): RegistryHarness {
  const where = new Map<Registry, { url: string; keyFile: string }>();
  const remember = (reg: Registry, url: string, keyFile: string) => {
    where.set(reg, { url, keyFile });
    return reg;
  };
  return {
    async open(o = {}) {
      const url = await server.createDatabase();
      const keyFile = o.sameKeyAs ? where.get(o.sameKeyAs)!.keyFile : newKeyFile();
      return remember(await open(url, keyFile, o.now ? { now: o.now } : {}), url, keyFile);
    },
    async connect(reg) {
      const { url, keyFile } = where.get(reg)!;
      return remember(await open(url, keyFile), url, keyFile);
    },
  };
}

describe.skipIf(!enabled)('postgresql registry', () => {
  registrySuite('postgres', postgresHarness);

  it('migrates once when several nodes start together, and again is a no-op', async () => {
    const url = await server.createDatabase();
    const keyFile = newKeyFile();
    const nodes = await Promise.all([0, 1, 2].map(() => open(url, keyFile)));
    await nodes[0]!.devices.add('cam1');
    expect((await nodes[2]!.devices.list()).map((d) => d.id)).toEqual(['cam1']);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('SELECT version FROM lookout_schema');
    await client.end();
    expect(rows).toEqual([{ version: postgresMigrations.length }]);
  });

  it('refuses a node whose key differs from the one the registry was made with', async () => {
    const url = await server.createDatabase();
    const first = await open(url, newKeyFile());
    await first.devices.add('cam1');
    await expect(open(url, newKeyFile())).rejects.toMatchObject({ code: 'REGISTRY_KEY_MISMATCH' });
  });

  it('accepts another key while the registry holds no secrets yet (db migrate ran first elsewhere)', async () => {
    const url = await server.createDatabase();
    await open(url, newKeyFile());
    const keyFile = newKeyFile();
    const node = await open(url, keyFile);
    const { secret } = await node.devices.add('cam1');
    const again = await open(url, keyFile);
    expect((await again.devices.verifySecret('cam1', secret)).ok).toBe(true);
  });

  it('close() waits for the queries in flight, then refuses new ones with a code', async () => {
    const url = await server.createDatabase();
    const reg = await open(url, newKeyFile());
    await reg.devices.add('cam1');
    const slow = reg.devices.list();
    const slower = reg.recordings.all();
    const closed = reg.close();
    await expect(slow).resolves.toHaveLength(1);
    await expect(slower).resolves.toEqual([]);
    await closed;
    await expect(reg.devices.list()).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
  });
});

describe.skipIf(!enabled)('postgresql outage', () => {
  it('rejects with REGISTRY_UNAVAILABLE while the server is down, and recovers by itself', async () => {
    // A server of its own: stopping it must not disturb the other tests of this file.
    const own = await startPostgres();
    cleanups.push(() => own.stop());
    const url = await own.createDatabase();
    const idleErrors: Error[] = [];
    const reg = await open(url, newKeyFile(), {
      pg: { statementTimeoutMs: 1000, onIdleError: (err) => idleErrors.push(err) },
    });
    const { secret } = await reg.devices.add('cam1');
    const seen: string[] = [];
    reg.watchCredentials((id, kinds) => {
      for (const kind of kinds) seen.push(`${id}:${kind}`);
    });

    await own.halt();
    await expect(reg.devices.verifySecret('cam1', secret)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
    });
    await expect(reg.tokens.list()).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });

    await own.start();
    const ok = await waitFor(
      async () => {
        try {
          return (await reg.devices.verifySecret('cam1', secret)).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, what: 'the registry back' },
    );
    expect(ok).toBe(true);
    // The event watch reconnected too: a change made now reaches it (with, at most, the
    // `added` of before the outage, which its first read could not place).
    await reg.devices.rotate('cam1');
    await waitFor(() => seen.includes('cam1:rotated'), {
      timeoutMs: 20_000,
      what: 'the rotation after the outage',
    });
  }, 90_000);
});
