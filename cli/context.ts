import type { Command } from 'commander';
import { type Config, loadConfig } from '../config/index.js';
import { createLogger, type Logger } from '../core/log.js';
import { openRegistry, type Registry } from '../devices/index.js';

/** Options every command takes. */
export interface CommonOptions {
  config?: string;
  dataDir?: string;
}

export function addCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'configuration file, JSON or YAML (default: $LOOKOUT_CONFIG)')
    .option('-d, --data-dir <dir>', 'data directory holding the registry (overrides dataDir)');
}

/** Runs the config pipeline with this process's environment and the command's flags. */
export function resolveConfig(options: CommonOptions, flags: Record<string, unknown> = {}): Readonly<Config> {
  return loadConfig({
    file: options.config,
    env: process.env,
    flags: { dataDir: options.dataDir, ...flags },
  });
}

/** A logger for short commands: warnings and errors only, on stderr. */
export function commandLogger(config: Readonly<Config>): Logger {
  return createLogger({
    level: config.log.level === 'info' ? 'warn' : config.log.level,
    format: config.log.format,
  });
}

/**
 * Opens the registry for a registry-only command and always closes it. Such commands
 * work on the data directory directly, with or without a running server.
 */
export function withRegistry<T>(
  options: CommonOptions,
  run: (registry: Registry, config: Readonly<Config>) => T,
): T {
  const config = resolveConfig(options);
  const registry = openRegistry({ dataDir: config.dataDir });
  try {
    return run(registry, config);
  } finally {
    registry.close();
  }
}
