/**
 * devices/: persistent state. The registry of devices, their secrets, API tokens and the
 * recordings index, in SQLite (one host, the default) or PostgreSQL (a cluster). Everything
 * else reaches the database only through the interfaces of stores.ts.
 */
import path from 'node:path';
import { makePrivateDir } from '../core/private-dir.js';
import type { PostgresOptions } from './postgres/pool.js';
import { KEY_FILE, loadOrCreateKey } from './secrets.js';
import { openSqliteRegistry } from './sqlite/registry.js';
import type { Registry } from './stores.js';

export { ActiveDevices, trackChanges } from './active-devices.js';
export { type DataDirLock, LOCK_FILE, lockDataDir, PID_FILE } from './data-dir-lock.js';
export { DEVICE_ID_PATTERN, isDeviceId } from './device-id.js';
export { deviceJson } from './device-json.js';
export { checkUserName, SESSION_MAX_AGE_MS } from './device-rules.js';
export { PASSWORD_MIN } from './passwords.js';
export type {
  DeviceStore,
  RecordingStore,
  Registry,
  RegistryTransfer,
  SignedIn,
  TokenStore,
  TransferRow,
  UserStore,
} from './stores.js';
export type {
  ApiToken,
  CredentialListener,
  CredentialState,
  DeletedDevice,
  DeleteRecordings,
  Device,
  DeviceEventKind,
  Gap,
  GapReason,
  Grant,
  IssuedCredentials,
  PresenceChange,
  RecordingPolicy,
  RecordMode,
  Role,
  Segment,
  SegmentState,
  Session,
  TokenScope,
  User,
  VerifyResult,
} from './types.js';
export { RECORD_MODES, ROLES, wantsRecording } from './types.js';

export interface RegistryOptions {
  dataDir: string;
  /**
   * Create the data directory and database when missing (the default). `false` for commands
   * that only read: they fail with `REGISTRY_NOT_FOUND` and leave a mistyped path untouched.
   */
  create?: boolean;
  /** The secret hasher's key file (default `<dataDir>/registry.key`). */
  keyFile?: string;
  /** Injectable clock for tests. */
  now?: () => number;
  /**
   * This node's id (`cluster.nodeId`, else the host name). A SQLite registry names it as the holder of
   * every recording it indexes (D40); PostgreSQL rows keep the node that wrote them.
   */
  nodeId?: string;
  /** The registry lives in PostgreSQL (a cluster), not in `<dataDir>/lookout.db`. */
  postgres?: PostgresOptions;
}

export type { PostgresOptions };

/**
 * Opens the registry: PostgreSQL when `postgres` is given (its migrations applied, the key
 * checked against the registry's), else SQLite in `dataDir`, creating the database and key
 * file on first use.
 */
export async function openRegistry(options: RegistryOptions): Promise<Registry> {
  const keyFile = options.keyFile ?? path.join(options.dataDir, KEY_FILE);
  if (options.postgres) {
    if (options.create ?? true) makePrivateDir(path.dirname(keyFile));
    // Loaded only for PostgreSQL: a single host's commands never load pg.
    const { openPgRegistry } = await import('./postgres/registry.js');
    return openPgRegistry(options.postgres, loadOrCreateKey(keyFile), options.now);
  }
  return openSqliteRegistry(
    options.dataDir,
    options.create ?? true,
    () => loadOrCreateKey(keyFile),
    options.now,
    options.nodeId,
  );
}
