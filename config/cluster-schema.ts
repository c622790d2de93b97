import { z } from 'zod';

const millis = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * `cluster.*`: what nodes share. Unset `postgresUrl` and `redisUrl` are the single-host default (SQLite, nothing
 * shared); docs/cluster.md and docs/registry.md.
 */
export const clusterSchema = z
  .object({
    postgresUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must look like postgres://user:password@host:5432/lookout')
      .optional()
      .describe(
        'PostgreSQL connection URL of the registry (devices, tokens, recording policies, the recordings index), e.g. `postgres://lookout:secret@db:5432/lookout`. Unset: the SQLite file in `dataDir` (one host). `lookout serve` applies its migrations at start; `lookout db migrate` does it alone.',
      ),
    postgresPoolSize: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe('Most connections a process holds to PostgreSQL (the CLI uses at most 2).'),
    postgresStatementTimeoutMs: millis(100, 600_000)
      .default(5000)
      .describe(
        'A PostgreSQL statement running longer is cancelled, and a connection not had within this time is an error (`REGISTRY_UNAVAILABLE`).',
      ),
    registryKeyFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The key device secrets and API tokens are hashed with (default `<dataDir>/registry.key`). Every node sharing one PostgreSQL registry needs the same key: copy the file to each node. A node whose key differs from the one the registry was made with refuses to start (`REGISTRY_KEY_MISMATCH`).',
      ),
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
