import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CameraPlacement,
  type ClusterNode,
  clusterKeys,
  joinCluster,
  type PlacedMedia,
  type PlacedRecordings,
} from '../../../cluster/index.js';
import { testLogger } from '../../helpers/log.js';
import { hasRedis, startRedis, type TestRedis } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait-for.js';

/**
 * CameraPlacement (D39) on a real redis-server, with this node's media plane and recording
 * service as in-memory implementations of the narrow interfaces placement takes (the real ones
 * run in test/e2e/cluster-placement.test.ts): where viewers go, recorded cameras spread by load,
 * the linger, and a lease lost while Redis is away.
 */
const available = hasRedis();
let redis: TestRedis;
let prefixes = 0;
const closers: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  if (available) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.close();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A media plane that holds what it is told: cameras in use, cameras online, what was evicted. */
class MemoryMedia implements PlacedMedia {
  readonly inUse = new Set<string>();
  readonly online = new Set<string>();
  readonly evicted: Array<[string, string]> = [];
  camerasInUse() {
    return this.inUse;
  }
  isOnline(camera: string) {
    return this.online.has(camera);
  }
  evict(camera: string, reason: string) {
    this.evicted.push([camera, reason]);
    this.inUse.delete(camera);
    return 0;
  }
}

/** A recording service that "records" a wanted camera exactly when the gate says this node holds it. */
class MemoryRecordings implements PlacedRecordings {
  readonly wanted = new Set<string>();
  readonly recording = new Set<string>();
  constructor(
    private readonly holds: (camera: string) => boolean,
    private readonly media: MemoryMedia,
  ) {}
  wantedCameras() {
    return this.wanted;
  }
  recorder(camera: string) {
    return this.recording.has(camera) ? camera : undefined;
  }
  async refresh(camera: string) {
    if (this.wanted.has(camera) && this.holds(camera)) {
      this.recording.add(camera);
      this.media.inUse.add(camera); // the recorder's feed is demand
    } else if (this.recording.delete(camera)) this.media.inUse.delete(camera);
  }
}

interface TestNode {
  node: ClusterNode;
  media: MemoryMedia;
  recordings: MemoryRecordings;
  placement: CameraPlacement;
}

async function start(id: string, prefix: string, lingerMs = 60_000): Promise<TestNode> {
  const media = new MemoryMedia();
  let joined: ClusterNode | undefined;
  const node = await joinCluster(
    { redisUrl: redis.url, nodeId: id, keyPrefix: prefix, heartbeatMs: 200, nodeTtlMs: 900 },
    {
      log: testLogger(),
      version: 'test',
      addresses: () => ({ http: `http://${id}.test:8080`, mqtt: '', turn: [] }),
      load: () => ({ cameras: joined?.leases.held().length ?? 0, viewers: 0, recordings: 0, cpu: 0 }),
    },
  );
  joined = node;
  closers.push(() => node.close());
  const recordings = new MemoryRecordings((camera) => node.leases.isHeld(camera), media);
  const placement = new CameraPlacement({
    leases: node.leases,
    nodes: () => node.nodes.list(),
    selfId: id,
    media,
    recordings,
    lingerMs,
    intervalMs: 200,
    log: testLogger(),
  });
  closers.push(() => placement.close());
  return { node, media, recordings, placement };
}

describe.skipIf(!available)('camera placement over Redis', () => {
  it('sends a viewer where the camera is held, taking it when nobody holds it', async () => {
    const prefix = `p${++prefixes}`;
    const a = await start('a', prefix);
    const b = await start('b', prefix);
    a.media.online.add('cam1');
    b.media.online.add('cam1');
    // Offline: answered here (the WHEP service says offline), no lease taken.
    expect(await a.placement.routeViewer('cam2')).toEqual({ at: 'here' });
    expect(await a.node.leases.holder('cam2')).toBeUndefined();
    expect(await a.placement.routeViewer('cam1')).toEqual({ at: 'here' });
    expect(await b.placement.routeViewer('cam1')).toEqual({
      at: 'node',
      node: 'a',
      http: 'http://a.test:8080',
    });
    // Held by a node that is not live (its entry gone, its lease not expired yet): unavailable.
    const raw = new Redis(redis.url);
    closers.push(() => raw.disconnect());
    await raw.set(clusterKeys(prefix).lease('cam3'), 'ghost', 'PX', 60_000);
    b.media.online.add('cam3');
    expect(await b.placement.routeViewer('cam3')).toEqual({ at: 'unavailable', node: 'ghost' });
  });

  it('spreads the recorded cameras over the nodes, one recorder per camera, on its holder', async () => {
    const prefix = `p${++prefixes}`;
    const a = await start('a', prefix);
    const b = await start('b', prefix);
    const cameras = ['cam0', 'cam1', 'cam2', 'cam3'];
    for (const n of [a, b]) for (const c of cameras) n.recordings.wanted.add(c);
    await waitFor(() => a.recordings.recording.size + b.recordings.recording.size === 4, {
      what: 'every recorded camera recorded somewhere',
    });
    expect([...a.recordings.recording].sort()).toEqual(a.node.leases.held().sort());
    expect([...b.recordings.recording].sort()).toEqual(b.node.leases.held().sort());
    // Both nodes were equally loaded: both took some (two each unless one listed the leases
    // just before the other took its share).
    expect(a.recordings.recording.size).toBeGreaterThan(0);
    expect(b.recordings.recording.size).toBeGreaterThan(0);
    // Each camera has one holder.
    expect([...a.node.leases.held(), ...b.node.leases.held()].sort()).toEqual(cameras);
  });

  it('gives a camera up once nothing needed it for the linger time', async () => {
    const prefix = `p${++prefixes}`;
    const a = await start('a', prefix, 600);
    a.media.online.add('cam1');
    expect(await a.placement.routeViewer('cam1')).toEqual({ at: 'here' });
    a.media.inUse.add('cam1'); // the viewer's session
    await a.placement.tick();
    a.media.inUse.delete('cam1'); // the viewer left
    await waitFor(async () => (await a.node.leases.holder('cam1')) === undefined, {
      what: 'the lease released',
    });
    expect(a.media.evicted).toEqual([['cam1', 'lease-released']]);
  });

  it('keeps the recorder and media of a lease Redis cannot confirm (Redis away), refuses a new viewer meanwhile, and confirms it again when Redis returns', async () => {
    const prefix = `p${++prefixes}`;
    const a = await start('a', prefix);
    a.recordings.wanted.add('cam1');
    a.media.online.add('cam1');
    await waitFor(() => a.recordings.recording.has('cam1'), { what: 'cam1 recorded on a' });
    await redis.stop();
    try {
      // Past the lease's time to live without Redis: still held here, no longer confirmed.
      await waitFor(() => !a.node.leases.isConfirmed('cam1'), {
        timeoutMs: 10_000,
        what: 'cam1 unconfirmed',
      });
      await a.placement.tick();
      expect(a.media.evicted).toEqual([]);
      expect(a.recordings.recording.has('cam1')).toBe(true);
      expect(a.node.leases.isHeld('cam1')).toBe(true);
      // A new viewer needs Redis to say this node still holds the camera.
      await expect(a.placement.routeViewer('cam1')).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    } finally {
      await redis.start();
    }
    // Redis back, empty (the test server keeps nothing): the lease is taken again, nothing ended.
    await waitFor(() => a.node.leases.isConfirmed('cam1'), {
      timeoutMs: 15_000,
      what: 'cam1 confirmed again',
    });
    expect(await a.node.leases.holder('cam1')).toBe('a');
    expect(a.media.evicted).toEqual([]);
    expect(await a.placement.routeViewer('cam1')).toEqual({ at: 'here' });
  });

  it('ends the recorder and media of a lease Redis says another node holds', async () => {
    const prefix = `p${++prefixes}`;
    const a = await start('a', prefix);
    a.recordings.wanted.add('cam1');
    await waitFor(() => a.recordings.recording.has('cam1'), { what: 'cam1 recorded on a' });
    // Another node holds it now (as after a partition that outlived the lease).
    const direct = new Redis(redis.url);
    closers.push(() => direct.quit());
    await direct.set(clusterKeys(prefix).lease('cam1'), 'b', 'PX', 60_000);
    await waitFor(() => a.media.evicted.length > 0, { timeoutMs: 10_000, what: 'cam1 evicted' });
    expect(a.media.evicted).toEqual([['cam1', 'lease-lost']]);
    expect(a.recordings.recording.has('cam1')).toBe(false);
    expect(a.node.leases.isHeld('cam1')).toBe(false);
  });
});
