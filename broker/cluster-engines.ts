import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { ClusterPresenceStore } from './cluster-presence.js';

/** What a broker needs to run as one node of a cluster (docs/cluster.md). */
export interface BrokerCluster {
  nodeId: string;
  /** aedes's heartbeat between brokers: a dead broker's wills go out after at most 7 of them. */
  heartbeatMs: number;
  /** aedes's message bus and store, shared through Redis (mqemitter-redis, aedes-persistence-redis). */
  mq: unknown;
  persistence: unknown;
  presence: ClusterPresenceStore;
  /** Ids of the nodes alive now (cluster/NodeRegistry). */
  liveNodes(): Promise<ReadonlySet<string>>;
  /** How long a node waits, after a device's session ends, before announcing it offline. */
  offlineGraceMs?: number;
  /** Closes the engines' Redis connections (after the broker closed). */
  close(): Promise<void>;
}

/**
 * aedes's own cluster packages over one Redis: every PUBLISH reaches the subscribers of every
 * node (mqemitter-redis), and subscriptions and wills live in Redis (aedes-persistence-redis).
 * Their channels are the MQTT topics themselves: one Redis per cluster (docs/cluster.md).
 */
export function clusterEngines(redisUrl: string): {
  mq: unknown;
  persistence: unknown;
  close(): Promise<void>;
} {
  const require = createRequire(import.meta.url);
  const mqemitterRedis = require('mqemitter-redis') as (opts: object) => unknown;
  const persistenceRedis = require('aedes-persistence-redis') as (opts: object) => unknown;
  // The ioredis that aedes-persistence-redis depends on (its own major), for the connection it is given.
  const persistenceRequire = createRequire(require.resolve('aedes-persistence-redis'));
  const { Redis: RedisClient } = persistenceRequire('ioredis') as {
    Redis: new (url: string, opts?: object) => Pick<Redis, 'quit'>;
  };
  const mq = mqemitterRedis({ connectionString: redisUrl });
  const conn = new RedisClient(redisUrl);
  const persistence = persistenceRedis({ conn });
  return {
    mq,
    persistence,
    // aedes closes `mq` when the broker closes; the store's connection is ours.
    // QUIT after the commands already sent: a closing broker's last cleanups still complete.
    close: async () => {
      await conn.quit().catch(() => {});
    },
  };
}
