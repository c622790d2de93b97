import path from 'node:path';

/**
 * The environment of a test cluster's nodes (and of the CLI run against it): one Redis, one
 * PostgreSQL registry with its key file in `dir`, a fast heartbeat (a dead node leaves within 2 s)
 * and media in each node's own process (several nodes share this machine's two cores).
 */
export function clusterEnv(
  redisUrl: string,
  postgresUrl: string,
  dir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    LOOKOUT_CLUSTER_REDIS_URL: redisUrl,
    LOOKOUT_CLUSTER_POSTGRES_URL: postgresUrl,
    LOOKOUT_CLUSTER_REGISTRY_KEY_FILE: path.join(dir, 'registry.key'),
    LOOKOUT_CLUSTER_HEARTBEAT_MS: '500',
    LOOKOUT_CLUSTER_NODE_TTL_MS: '2000',
    LOOKOUT_MEDIA_WORKERS: '0',
    ...extra,
  };
}
