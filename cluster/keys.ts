/** Every Redis key and channel a cluster uses, under its `cluster.keyPrefix`. */
export interface ClusterKeys {
  /** One node's entry (JSON NodeInfo), expiring `nodeTtlMs` after its last heartbeat. */
  node(id: string): string;
  /** Sorted set of node ids by last heartbeat (ms): how a listing finds entries without SCAN. */
  readonly nodes: string;
  /** Which node holds a camera's media session (its lease). */
  lease(cameraId: string): string;
  /** Set of camera ids with a lease: how a listing finds leases without SCAN. */
  readonly leases: string;
  /** Pub/sub channel of events between nodes. */
  readonly events: string;
}

export function clusterKeys(prefix: string): ClusterKeys {
  return {
    node: (id) => `${prefix}:node:${id}`,
    nodes: `${prefix}:nodes`,
    lease: (cameraId) => `${prefix}:lease:${cameraId}`,
    leases: `${prefix}:leases`,
    events: `${prefix}:events`,
  };
}
