import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
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
export function clusterEngines(
  redisUrl: string,
  log: Logger,
  now: () => number = Date.now,
): {
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
    Redis: new (url: string, opts?: object) => Pick<Redis, 'quit' | 'on'>;
  };
  // Neither package listens for its connections' errors: an 'error' event with no listener
  // would end the process when Redis goes away. ioredis reconnects by itself; the outage is
  // logged once per window, and its end once.
  const warn = new RateLimitedLog(log, now);
  const outage = (engine: string) => {
    let down = false;
    return {
      error: (err: Error) => {
        down = true;
        warn.warn(
          `redis-engine:${engine}`,
          { err: err.message, engine },
          'Redis unavailable to the broker, retrying',
        );
      },
      ready: () => {
        if (down) log.info({ engine }, 'Redis available to the broker again');
        down = false;
      },
    };
  };
  const mq = mqemitterRedis({ connectionString: redisUrl }) as {
    state: { on(event: 'error', listener: (err: Error) => void): void };
    pubConn: Pick<Redis, 'on'>;
  };
  const bus = outage('mqemitter-redis');
  mq.state.on('error', bus.error);
  mq.pubConn.on('ready', bus.ready);
  const conn = new RedisClient(redisUrl);
  const store = outage('aedes-persistence-redis');
  conn.on('error', store.error);
  conn.on('ready', store.ready);
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
