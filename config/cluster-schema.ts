import { z } from 'zod';

const millis = (min: number, max: number) => z.number().int().min(min).max(max);

/** `cluster.*`: unset `redisUrl` is the single-host default, with nothing of this in use. */
export const clusterSchema = z
  .object({
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must look like redis://host:port or rediss://host:port')
      .optional()
      .describe(
        'Redis shared by the nodes of a cluster (node liveness, camera leases, events between nodes). Unset: a single host, nothing shared (docs/cluster.md).',
      ),
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, ., _ and -')
      .optional()
      .describe("This node's name in the cluster, unique among its nodes. Unset: the host name."),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,32}$/, 'must be 1-32 characters of A-Z, a-z, 0-9, ., _ and -')
      .default('lookout')
      .describe(
        'First part of every Redis key and channel this cluster uses (several clusters can share one Redis).',
      ),
    heartbeatMs: millis(200, 60_000)
      .default(2000)
      .describe('How often a node renews its entry (and load) in Redis.'),
    nodeTtlMs: millis(600, 300_000)
      .default(6000)
      .describe(
        "How long a node's entry outlives its last heartbeat: a node that died leaves the cluster after this. At least three heartbeats.",
      ),
    publicHttpUrl: z
      .string()
      .regex(/^https?:\/\/[^/\s]+$/, 'must look like http://host:port or https://host:port')
      .optional()
      .describe(
        "This node's HTTP address as browsers and other nodes reach it (other nodes redirect viewers here). Unset: this machine's first non-loopback IPv4 address and `http.port`.",
      ),
  })
  .strict()
  .refine((c) => c.nodeTtlMs >= 3 * c.heartbeatMs, {
    message: 'cluster.nodeTtlMs must be at least three times cluster.heartbeatMs',
    path: ['nodeTtlMs'],
  })
  .prefault({});

export type ClusterConfig = z.infer<typeof clusterSchema>;
