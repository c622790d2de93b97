import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, type Registry } from '../../devices/index.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { closedWithin, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

const enabled = havePostgres();

/**
 * `lookout serve` on a PostgreSQL registry: its migrations at start, logins and the HTTP API
 * against it, a change made by another node (another connection) reaching the broker by
 * NOTIFY, and an outage answered with coded errors (CONNACK 3, HTTP 503) until it ends.
 */
describe.skipIf(!enabled)('lookout serve on PostgreSQL', () => {
  let db: TestPostgres;
  let t: TestServer;
  let url: string;
  /** What another node or `lookout device ...` on another host opens: the same database and key. */
  let other: Registry;
  let token: string;

  beforeAll(async () => {
    db = await startPostgres();
    url = await db.createDatabase();
    t = await startTestServer({
      'cluster.postgresUrl': url,
      'cluster.postgresStatementTimeoutMs': 1000,
    });
    other = await openRegistry({
      dataDir: t.dataDir,
      keyFile: path.join(t.dataDir, 'registry.key'),
      postgres: { url, poolSize: 2, statementTimeoutMs: 1000 },
    });
    token = (await t.server.registry.tokens.create('test')).token;
  }, 60_000);
  afterAll(async () => {
    await other?.close();
    await t?.close();
    await db?.stop();
  });

  it('runs on the PostgreSQL registry: the schema made at start, logins and the API use it', async () => {
    expect(t.server.registry.kind).toBe('postgres');
    const secret = await t.addDevice('cam1');
    expect((await other.devices.list()).map((d) => d.id)).toEqual(['cam1']);
    const client = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    await waitFor(async () => (await other.devices.require('cam1')).online, {
      what: 'cam1 online in PostgreSQL',
    });
    const res = await fetch(`${t.httpUrl}/api/devices/cam1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'cam1', online: true });
    await client.endAsync();
  });

  it('disconnects a device revoked by another node within a second (LISTEN/NOTIFY)', async () => {
    const secret = await t.addDevice('cam2');
    const client = await t.connect({ username: 'cam2', password: secret, clientId: 'cam2' });
    const closed = closedWithin(client, 5000);
    const revokedAt = Date.now();
    await other.devices.revoke('cam2');
    await closed;
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    client.end(true);
  });

  it('answers with codes while PostgreSQL is down and recovers by itself when it returns', async () => {
    const secret = await t.addDevice('cam3');
    await db.halt();
    try {
      const res = await fetch(`${t.httpUrl}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
      const refused = await t.connect({ username: 'cam3', password: secret, clientId: 'cam3' }).then(
        () => undefined,
        (err: { code?: number }) => err.code,
      );
      expect(refused).toBe(3); // CONNACK "server unavailable"
    } finally {
      await db.start();
    }
    const client = await waitFor(
      () => t.connect({ username: 'cam3', password: secret, clientId: 'cam3' }).catch(() => undefined),
      { timeoutMs: 20_000, what: 'a login once PostgreSQL is back' },
    );
    const res = await fetch(`${t.httpUrl}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    await client.endAsync();
  }, 60_000);
});
