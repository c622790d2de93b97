import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CameraLeases,
  type ClusterEvent,
  type ClusterNode,
  clusterKeys,
  joinCluster,
  NodeRegistry,
} from '../../../cluster/index.js';
import { hasCode } from '../../../core/errors.js';
import { captureLog, testLogger } from '../../helpers/log.js';
import { hasRedis, startRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * cluster/ against a real redis-server of its own: node liveness, camera leases, events between
 * nodes, and a Redis outage that ends. Each test uses its own key prefix.
 */
const available = hasRedis();
let redis: TestRedis;
let prefixes = 0;
const nodes: ClusterNode[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  if (available) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.close();
});
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  for (const c of clients.splice(0)) c.disconnect();
});

const load = { cameras: 0, viewers: 0, recordings: 0, cpu: 0 };

function config(nodeId: string, keyPrefix: string, timing = { heartbeatMs: 200, nodeTtlMs: 900 }) {
  return { redisUrl: redis.url, nodeId, keyPrefix, ...timing };
}

async function join(nodeId: string, keyPrefix: string, log = testLogger()): Promise<ClusterNode> {
  const node = await joinCluster(config(nodeId, keyPrefix), {
    log,
    version: 'test',
    addresses: () => ({ http: `http://${nodeId}:8080`, mqtt: `mqtt://${nodeId}:1883`, turn: [] }),
    load: () => ({ ...load, cameras: nodeId.length }),
  });
  nodes.push(node);
  return node;
}

function rawClient(): Redis {
  const client = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}

describe.skipIf(!available)('cluster over Redis', () => {
  it('lists live nodes with their load; a node that leaves is gone at once, one that dies after its TTL', async () => {
    const prefix = `t${++prefixes}`;
    const a = await join('node-a', prefix);
    const b = await join('node-bb', prefix);
    const listed = await a.nodes.list();
    expect(listed.map((n) => [n.id, n.load.cameras, n.http])).toEqual([
      ['node-a', 6, 'http://node-a:8080'],
      ['node-bb', 7, 'http://node-bb:8080'],
    ]);
    await b.close();
    expect((await a.nodes.list()).map((n) => n.id)).toEqual(['node-a']);

    // A node that dies (its connection gone, nothing cleaned up) leaves by expiry.
    const doomed = rawClient();
    const dead = new NodeRegistry({
      redis: doomed,
      keys: clusterKeys(prefix),
      self: { id: 'node-c', version: 'test', startedAt: Date.now() },
      addresses: () => ({ http: '', mqtt: '', turn: [] }),
      load: () => load,
      heartbeatMs: 200,
      ttlMs: 900,
      log: testLogger(),
    });
    await dead.start();
    expect((await a.nodes.list()).map((n) => n.id)).toEqual(['node-a', 'node-c']);
    doomed.disconnect();
    await waitFor(async () => (await a.nodes.list()).length === 1, {
      timeoutMs: 10_000,
      what: 'node-c expired',
    });
    await dead.close();
  });

  it('refuses a second live node with the same id, and takes over the entry of a crashed run', async () => {
    const prefix = `t${++prefixes}`;
    await join('same', prefix);
    const refused = await join('same', prefix).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(hasCode(refused, 'NODE_ID_IN_USE')).toBe(true);

    // A crashed run's entry: present (not yet expired) but no longer renewed.
    const keys = clusterKeys(prefix);
    const stale = {
      id: 'crashed',
      version: 'old',
      startedAt: 1,
      heartbeatAt: 2,
      http: '',
      mqtt: '',
      turn: [],
      load,
    };
    await rawClient().set(keys.node('crashed'), JSON.stringify(stale), 'PX', 60_000);
    const restarted = await join('crashed', prefix);
    const entry = (await restarted.nodes.list()).find((n) => n.id === 'crashed');
    expect(entry?.version).toBe('test');
  });

  it('gives each camera one holder; only the holder releases; a dead holder’s lease expires; a lost lease is reported', async () => {
    const prefix = `t${++prefixes}`;
    const a = await join('a', prefix);
    const b = await join('b', prefix);
    expect(await a.leases.acquire('cam1')).toEqual({ holder: 'a', mine: true });
    expect(await b.leases.acquire('cam1')).toEqual({ holder: 'a', mine: false });
    expect(await b.leases.release('cam1')).toBe(false);
    expect(await b.leases.holder('cam1')).toBe('a');
    // Renewed by its holder: its time to live starts again.
    const raw = rawClient();
    const leaseKey = clusterKeys(prefix).lease('cam1');
    await waitFor(async () => (await raw.pttl(leaseKey)) < 800, { what: 'the lease ageing' });
    await a.leases.renew();
    expect(await raw.pttl(leaseKey)).toBeGreaterThan(800);
    expect(await a.leases.release('cam1')).toBe(true);
    expect(await b.leases.acquire('cam1')).toEqual({ holder: 'b', mine: true });
    expect(await a.leases.list()).toEqual([{ cameraId: 'cam1', holder: 'b' }]);

    // A lease taken from under its holder is reported lost and no longer held.
    await a.leases.acquire('cam2');
    const lost = new Promise<string>((resolve) => a.leases.once('lost', resolve));
    await rawClient().set(clusterKeys(prefix).lease('cam2'), 'someone-else');
    expect(await lost).toBe('cam2');
    expect(a.leases.held()).toEqual([]);

    // A holder that dies (its connection gone) stops renewing: another node places the camera after the TTL.
    const doomed = rawClient();
    const dying = new CameraLeases({
      redis: doomed,
      keys: clusterKeys(prefix),
      nodeId: 'c',
      ttlMs: 900,
      log: testLogger(),
    });
    expect(await dying.acquire('cam3')).toEqual({ holder: 'c', mine: true });
    doomed.disconnect();
    await waitFor(async () => (await b.leases.acquire('cam3')).mine, {
      timeoutMs: 10_000,
      what: 'cam3 placed on b',
    });
    await dying.close();
  });

  it('delivers events to every node, drops what it cannot read, and logs that once', async () => {
    const prefix = `t${++prefixes}`;
    const captured = captureLog('warn');
    const a = await join('a', prefix);
    const b = await join('b', prefix, captured.log);
    const seen: Array<[ClusterEvent, string, string]> = [];
    a.bus.on('event', (e, from) => seen.push([e, from, 'a']));
    b.bus.on('event', (e, from) => seen.push([e, from, 'b']));
    const raw = rawClient();
    const channel = clusterKeys(prefix).events;
    await raw.publish(channel, 'not json');
    await raw.publish(channel, JSON.stringify({ from: 'x', at: 1, event: { type: 'unknown' } }));
    await raw.publish(
      channel,
      JSON.stringify({ from: 'x', at: 1, event: { type: 'token-revoked', tokenId: 'a'.repeat(20_000) } }),
    );
    await a.bus.publish({ type: 'token-revoked', tokenId: 'tok1' });
    await waitFor(() => seen.length === 2, { what: 'both nodes got the event' });
    expect(seen.sort((x, y) => x[2].localeCompare(y[2]))).toEqual([
      [{ type: 'token-revoked', tokenId: 'tok1' }, 'a', 'a'],
      [{ type: 'token-revoked', tokenId: 'tok1' }, 'a', 'b'],
    ]);
    const drops = captured.lines.filter((l) => /dropped/.test(String(l.msg)));
    expect(drops.map((l) => l.msg)).toEqual([
      'cluster event not understood, dropped',
      'cluster event too large, dropped',
    ]);
  });

  it('survives a Redis outage: fails fast meanwhile, logs it once per window, and recovers by itself', async () => {
    const prefix = `t${++prefixes}`;
    const captured = captureLog('info');
    const a = await join('a', prefix, captured.log);
    const b = await join('b', prefix);
    let resynced = 0;
    b.bus.on('resync', () => resynced++);
    await redis.stop();
    const started = Date.now();
    const failed = await a.bus.publish({ type: 'token-revoked', tokenId: 't' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(hasCode(failed, 'REDIS_UNAVAILABLE')).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
    // Several heartbeats fail while Redis is away.
    await waitFor(() => captured.lines.some((l) => l.msg === 'Redis unavailable, retrying'), {
      what: 'outage logged',
    });
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    await waitFor(() => resynced > 0, { timeoutMs: 10_000, what: 'the subscription back' });
    await waitFor(async () => (await b.nodes.list().catch(() => [])).length === 2, {
      timeoutMs: 10_000,
      what: 'both nodes registered again',
    });
    const got = new Promise<ClusterEvent>((resolve) => b.bus.once('event', resolve));
    await a.bus.publish({ type: 'device-changed', deviceId: 'cam1', kinds: ['revoked'] });
    expect(await got).toEqual({ type: 'device-changed', deviceId: 'cam1', kinds: ['revoked'] });
    // Once per connection per window, not once per failed heartbeat or reconnection attempt.
    const outageLines = captured.lines.filter((l) => l.msg === 'Redis unavailable, retrying');
    expect(outageLines.length).toBeLessThanOrEqual(2);
    expect(captured.lines.some((l) => l.msg === 'Redis available again')).toBe(true);
  });
});
