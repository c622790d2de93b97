/**
 * What commands share: common options, the config pipeline, the registry. Everything heavy is
 * imported when a command runs, not when `lookout` starts: `lookout --version` and `--help` load
 * commander alone, registry commands add config and SQLite, and only `serve` and `agent` load
 * werift, fastify and aedes (issue 9 item 21).
 */
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { hasCode, LookoutError } from '../core/errors.js';
import type { Registry } from '../devices/index.js';
import { registryOptions } from './registry-options.js';

/** Options every command takes. */
export interface CommonOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
}

export function addCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'configuration file, JSON or YAML (default: $LOOKOUT_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory holding the registry (overrides dataDir)')
    .option(
      '--log-level <level>',
      'fatal|error|warn|info|debug|trace|silent (log.level); debug also prints the stack of an error',
    );
}

/** Runs the config pipeline with this process's environment and the command's flags. */
export async function resolveConfig(
  options: CommonOptions,
  flags: Record<string, unknown> = {},
): Promise<Readonly<Config>> {
  const { loadConfig } = await import('../config/index.js');
  return loadConfig({
    file: options.config,
    env: process.env,
    flags: { dataDir: options.dataDir, 'log.level': options.logLevel, ...flags },
  });
}

/**
 * `read`: the registry must exist (a mistyped --data-dir is refused, nothing created);
 * `create`: made on first use (device add, token create).
 */
export type RegistryAccess = 'read' | 'create';

/**
 * Opens the registry for a registry-only command and closes it when `run` (and its promise)
 * is done. Such commands work on the data directory directly, with or without a running server.
 */
export async function withRegistry<T>(
  options: CommonOptions,
  run: (registry: Registry, config: Readonly<Config>) => T | Promise<T>,
  access: RegistryAccess = 'read',
  resolved?: Readonly<Config>,
): Promise<T> {
  const config = resolved ?? (await resolveConfig(options));
  const { openRegistry } = await import('../devices/index.js');
  let registry: Registry;
  try {
    registry = await openRegistry({
      ...registryOptions(config, { server: false }),
      create: access === 'create',
    });
  } catch (err) {
    if (hasCode(err, 'REGISTRY_NOT_FOUND')) {
      throw new LookoutError(
        err.code,
        `${err.message}; create one with lookout device add or lookout serve (or give --data-dir)`,
        err.details,
      );
    }
    throw err;
  }
  try {
    return await run(registry, config);
  } finally {
    await registry.close();
  }
}
