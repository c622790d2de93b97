import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { hasRedis, startRedis, type TestRedis } from '../../helpers/redis.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../helpers/tmp.js';
import { TurnTestClient } from '../../helpers/turn-client.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * TURN on every node (issue 11, item 7): two nodes of one cluster (one Redis, one PostgreSQL
 * registry) share the TURN secret, so a credential one node puts in a camera's offer allocates
 * on the other node's TURN server.
 */
const available = hasRedis() && havePostgres();
const tmp = tempDir('lookout-cluster-turn-');
let redis: TestRedis;
let postgres: TestPostgres;
const nodes: TestServer[] = [];

beforeAll(async () => {
  if (!available) return;
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  const shared = {
    'cluster.redisUrl': redis.url,
    'cluster.postgresUrl': await postgres.createDatabase(),
    'cluster.registryKeyFile': path.join(tmp.dir, 'registry.key'),
    'cluster.heartbeatMs': 500,
    'cluster.nodeTtlMs': 2000,
    'media.workers': 0,
  };
  nodes.push(await startTestServer({ ...shared, 'cluster.nodeId': 'node-a' }));
  nodes.push(await startTestServer({ ...shared, 'cluster.nodeId': 'node-b' }));
}, 60_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await redis?.close();
  await postgres?.stop();
  tmp.remove();
});

describe.skipIf(!available)('TURN on every node of a cluster', () => {
  it('accepts on one node the credentials another node issued', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    expect(a.server.turn.secret).toBeDefined();
    expect(b.server.turn.secret).toBe(a.server.turn.secret);
    await a.addDevice('cam1');
    const generation = (await a.server.registry.devices.get('cam1'))!.secretGeneration;
    const [ice] = a.server.turn.deviceIceServers('cam1', generation);
    // Node B learns of the device added through A by the registry's NOTIFY, within moments.
    const relayB = { ip: '127.0.0.1', port: b.server.relay!.address().udp.port };
    await waitFor(
      async () => {
        const client = await TurnTestClient.open(relayB, 'udp', {
          username: ice!.username!,
          password: ice!.credential!,
        });
        try {
          return (await client.allocate()).code === 0;
        } finally {
          await client.close();
        }
      },
      { timeoutMs: 10_000, what: "an allocation on node B with node A's credential" },
    );
    // A credential under another secret is refused there.
    const forged = await TurnTestClient.open(
      { ip: '127.0.0.1', port: b.server.relay!.address().udp.port },
      'udp',
      {
        username: ice!.username!,
        password: 'not-the-cluster-secret',
      },
    );
    try {
      expect((await forged.allocate()).code).toBe(401);
    } finally {
      await forged.close();
    }
  });
});
