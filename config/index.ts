/**
 * Configuration: one validated pipeline (defaults <- file <- LOOKOUT_* env <- flags).
 * Nothing else in Lookout reads process.env.
 */
export { type ConfigKey, configKeys } from './keys.js';
export { CONFIG_FILE_ENV, type LoadConfigInput, loadConfig } from './load.js';
export { nodeIdOf } from './node-id.js';
export type {
  ClientConfig,
  ClusterConfig,
  Config,
  HttpConfig,
  MediaConfig,
  MqttConfig,
  RecordingConfig,
  TurnConfig,
} from './schema.js';
