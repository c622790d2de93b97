/**
 * cluster/: what several Lookout nodes share through Redis: which nodes are alive and how busy
 * (NodeRegistry), which node holds each camera (CameraLeases), and events between nodes
 * (ClusterBus). Unused (and never loaded) on a single host, where `cluster.redisUrl` is unset.
 */
import type { Redis } from 'ioredis';
import { type ClusterConfig, nodeIdOf } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { ClusterBus } from './events.js';
import { type ClusterKeys, clusterKeys } from './keys.js';
import { CameraLeases } from './leases.js';
import type { NodeInfo, NodeLoad } from './node-info.js';
import { NodeRegistry } from './node-registry.js';
import { connectRedis } from './redis.js';

export {
  CameraPlacement,
  type PlacedMedia,
  type PlacedRecordings,
  type ViewerPlace,
} from './camera-placement.js';
export type { ClusterEvent } from './events.js';
export { ClusterBus } from './events.js';
export { type ClusterKeys, clusterKeys } from './keys.js';
export { CameraLeases, listLeases } from './leases.js';
export type { NodeInfo, NodeLoad } from './node-info.js';
export { listNodes, NodeRegistry } from './node-registry.js';
export { DemandLinger, recorderPlan } from './placement-choice.js';
export { connectRedis, redactUrl } from './redis.js';
export { sharedSecret } from './shared-secret.js';
export { nodeIdOf };

export interface ClusterNode {
  readonly id: string;
  readonly nodes: NodeRegistry;
  readonly leases: CameraLeases;
  readonly bus: ClusterBus;
  /** The node's Redis connection (commands only; the bus has its own). */
  readonly redis: Redis;
  readonly keys: ClusterKeys;
  /** Leaves the cluster: releases leases, removes the node's entry, closes both connections. */
  close(): Promise<void>;
}

/** Joins the cluster: fails with REDIS_UNAVAILABLE or NODE_ID_IN_USE, leaving nothing open. */
export async function joinCluster(
  config: Pick<ClusterConfig, 'nodeId' | 'keyPrefix' | 'heartbeatMs' | 'nodeTtlMs'> & { redisUrl: string },
  deps: {
    log: Logger;
    version: string;
    /** Read at each heartbeat (empty strings until the listeners are up). */
    addresses: () => Pick<NodeInfo, 'http' | 'mqtt' | 'turn' | 'media'>;
    load: () => NodeLoad;
    now?: () => number;
  },
): Promise<ClusterNode> {
  const id = nodeIdOf(config);
  const log = deps.log.child({ component: 'cluster', nodeId: id });
  const keys = clusterKeys(config.keyPrefix);
  const opened: Redis[] = [];
  let nodes: NodeRegistry | undefined;
  let leases: CameraLeases | undefined;
  try {
    const redis = await connectRedis(config.redisUrl, log, { name: `lookout-${id}`, now: deps.now });
    opened.push(redis);
    const subscriber = await connectRedis(config.redisUrl, log, {
      name: `lookout-${id}-events`,
      now: deps.now,
    });
    opened.push(subscriber);
    nodes = new NodeRegistry({
      redis,
      keys,
      self: { id, version: deps.version, startedAt: (deps.now ?? Date.now)() },
      addresses: deps.addresses,
      load: deps.load,
      heartbeatMs: config.heartbeatMs,
      ttlMs: config.nodeTtlMs,
      log,
      now: deps.now,
    });
    await nodes.start();
    leases = new CameraLeases({ redis, keys, nodeId: id, ttlMs: config.nodeTtlMs, log, now: deps.now });
    const bus = await ClusterBus.open({ redis, subscriber, keys, nodeId: id, log, now: deps.now });
    let closing: Promise<void> | undefined;
    const [joinedNodes, joinedLeases] = [nodes, leases];
    return {
      id,
      nodes,
      leases,
      bus,
      redis,
      keys,
      close: () => {
        closing ??= (async () => {
          await bus.close();
          await joinedLeases.close();
          await joinedNodes.close();
          for (const client of opened) client.disconnect();
        })();
        return closing;
      },
    };
  } catch (err) {
    await leases?.close();
    await nodes?.close();
    for (const client of opened) client.disconnect();
    throw err;
  }
}
