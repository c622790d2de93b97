import type { Config } from '../config/index.js';
// Not through config/index.js: that loads the whole pipeline (zod), which `--version` must not.
import { nodeIdOf } from '../config/node-id.js';
import type { RegistryOptions } from '../devices/index.js';

/**
 * Where the registry is, from the configuration: PostgreSQL when `cluster.postgresUrl` is set,
 * else the SQLite file in `dataDir`. A CLI command holds at most 2 connections; `lookout serve`
 * up to `cluster.postgresPoolSize`.
 */
export function registryOptions(
  config: Readonly<Config>,
  use: { server: boolean; onIdleError?: (err: Error) => void },
): RegistryOptions {
  const { postgresUrl, postgresPoolSize, postgresStatementTimeoutMs, registryKeyFile } = config.cluster;
  return {
    dataDir: config.dataDir,
    nodeId: nodeIdOf(config.cluster),
    ...(registryKeyFile ? { keyFile: registryKeyFile } : {}),
    ...(postgresUrl
      ? {
          postgres: {
            url: postgresUrl,
            poolSize: use.server ? postgresPoolSize : Math.min(2, postgresPoolSize),
            statementTimeoutMs: postgresStatementTimeoutMs,
            ...(use.onIdleError ? { onIdleError: use.onIdleError } : {}),
          },
        }
      : {}),
  };
}
