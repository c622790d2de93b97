import type { Redis } from 'ioredis';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ClusterKeys } from './keys.js';
import { type NodeInfo, type NodeLoad, parseNodeInfo } from './node-info.js';
import { redisCall } from './redis.js';

export interface NodeRegistryOptions {
  redis: Redis;
  keys: ClusterKeys;
  /** This node's entry but for what each heartbeat reads. */
  self: Omit<NodeInfo, 'heartbeatAt' | 'load' | 'http' | 'mqtt' | 'turn'>;
  /** Read at each heartbeat: where the node is reached (empty until its listeners are up). */
  addresses: () => Pick<NodeInfo, 'http' | 'mqtt' | 'turn' | 'media'>;
  /** Read at each heartbeat. */
  load: () => NodeLoad;
  heartbeatMs: number;
  ttlMs: number;
  log: Logger;
  now?: () => number;
  /** Waits between two readings of a taken id at start (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * This node's entry in Redis, renewed every `heartbeatMs` and expiring `ttlMs` after the last
 * renewal (Redis expires it: a node killed with -9 leaves the cluster by itself), and the list of
 * live nodes. A heartbeat that fails (Redis away) is logged by the connection and retried on the
 * next tick; the entry comes back with the first heartbeat after Redis does.
 */
export class NodeRegistry {
  readonly #o: NodeRegistryOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #closed = false;
  #started = false;

  constructor(options: NodeRegistryOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get id(): string {
    return this.#o.self.id;
  }

  /**
   * Registers this node. Refuses (NODE_ID_IN_USE) when another live node already beats under the
   * same id; an entry left by a crashed run of this node (no longer renewed) is taken over.
   */
  async start(): Promise<void> {
    const { redis, keys, self, heartbeatMs } = this.#o;
    const first = parseNodeInfo(await redisCall('read', () => redis.get(keys.node(self.id))));
    if (first && first.startedAt !== self.startedAt) {
      await (this.#o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(Math.ceil(1.5 * heartbeatMs));
      const again = parseNodeInfo(await redisCall('read', () => redis.get(keys.node(self.id))));
      if (again && again.heartbeatAt !== first.heartbeatAt) {
        throw new LookoutError(
          'NODE_ID_IN_USE',
          `another live node is registered as '${self.id}' (started ${new Date(again.startedAt).toISOString()}): give this one its own cluster.nodeId`,
          { nodeId: self.id },
        );
      }
    }
    await this.heartbeat();
    this.#started = true;
    this.#timer = setInterval(() => {
      this.#beating ??= this.heartbeat()
        .catch(() => {}) // logged once per window by the connection's error handler
        .finally(() => {
          this.#beating = undefined;
        });
    }, heartbeatMs);
    this.#timer.unref();
    this.#o.log.info({ nodeId: self.id, heartbeatMs, ttlMs: this.#o.ttlMs }, 'joined the cluster');
  }

  /** Writes this node's entry now. */
  async heartbeat(): Promise<void> {
    if (this.#closed) return;
    const { redis, keys, self, ttlMs } = this.#o;
    const at = this.#now();
    const entry: NodeInfo = { ...self, ...this.#o.addresses(), heartbeatAt: at, load: this.#o.load() };
    await redisCall('heartbeat', () =>
      redis
        .multi()
        .set(keys.node(self.id), JSON.stringify(entry), 'PX', ttlMs)
        .zadd(keys.nodes, at, self.id)
        .exec(),
    );
  }

  /** One live node's entry; undefined when it is not in the cluster (stopped, or expired). */
  async get(id: string): Promise<NodeInfo | undefined> {
    const info = parseNodeInfo(await redisCall('read', () => this.#o.redis.get(this.#o.keys.node(id))));
    return info?.id === id ? info : undefined;
  }

  /** Live nodes, by id. */
  list(): Promise<NodeInfo[]> {
    return listNodes(this.#o.redis, this.#o.keys);
  }

  /** Stops the heartbeat and removes this node's entry (best effort: Redis may be away). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    if (!this.#started) return; // the entry (if any) is another node's, or was never written
    const { redis, keys, self } = this.#o;
    await redisCall('leave', () =>
      redis.multi().del(keys.node(self.id)).zrem(keys.nodes, self.id).exec(),
    ).catch((err: Error) =>
      this.#o.log.warn({ err: err.message }, 'could not remove this node from Redis; it expires by itself'),
    );
  }
}

/** Live nodes of a cluster, by id; entries that expired are dropped from the index on the way. */
export async function listNodes(redis: Redis, keys: ClusterKeys): Promise<NodeInfo[]> {
  const ids = await redisCall('list', () => redis.zrange(keys.nodes, 0, -1));
  if (ids.length === 0) return [];
  const values = await redisCall('list', () => redis.mget(ids.map((id) => keys.node(id))));
  const live: NodeInfo[] = [];
  const gone: string[] = [];
  ids.forEach((id, i) => {
    const info = parseNodeInfo(values[i]);
    if (info && info.id === id) live.push(info);
    else gone.push(id);
  });
  if (gone.length > 0) await redisCall('prune', () => redis.zrem(keys.nodes, ...gone)).catch(() => {});
  return live.sort((a, b) => a.id.localeCompare(b.id));
}
