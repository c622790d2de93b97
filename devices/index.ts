/**
 * devices/: persistent state. The SQLite registry of devices, their secrets and API
 * tokens. Everything else reaches SQLite only through these interfaces.
 */
import { type CredentialListener, CredentialWatch } from './credential-watch.js';
import { type Db, openDatabase } from './db.js';
import { DeviceStore } from './device-store.js';
import { RecordingStore } from './recording-store.js';
import { loadOrCreateKey, SecretHasher } from './secrets.js';
import { TokenStore } from './token-store.js';

export { type DataDirLock, LOCK_FILE, lockDataDir, PID_FILE } from './data-dir-lock.js';
export { DEVICE_ID_PATTERN, isDeviceId } from './device-id.js';
export { deviceJson } from './device-json.js';
export type {
  CredentialState,
  Device,
  DeviceStore,
  IssuedCredentials,
  RecordingPolicy,
  RecordMode,
  VerifyResult,
} from './device-store.js';
export { RECORD_MODES, wantsRecording } from './device-store.js';
export type { Gap, GapReason, RecordingStore, Segment, SegmentState } from './recording-store.js';
export type { ApiToken, TokenStore } from './token-store.js';

export interface RegistryOptions {
  dataDir: string;
  /**
   * Create the data directory and database when missing (the default). `false` for commands
   * that only read: they fail with `REGISTRY_NOT_FOUND` and leave a mistyped path untouched.
   */
  create?: boolean;
  /** Injectable clock for tests. */
  now?: () => number;
}

export interface Registry {
  readonly devices: DeviceStore;
  readonly tokens: TokenStore;
  readonly recordings: RecordingStore;
  /**
   * Calls `listener(deviceId)` whenever a device is rotated, revoked or its recording policy changes, by this process
   * or another one sharing the data directory. Stops with the returned function or close().
   */
  watchCredentials(listener: CredentialListener, intervalMs?: number): () => void;
  /** Idempotent; closes watchers and the database handle. */
  close(): void;
}

/** Opens the registry in `dataDir`, creating the database and key file on first use. */
export function openRegistry(options: RegistryOptions): Registry {
  const create = options.create ?? true;
  // The database first: with `create: false` a missing registry is refused before the key file is made.
  const db = openDatabase(options.dataDir, { create });
  let hasher: SecretHasher;
  try {
    hasher = new SecretHasher(loadOrCreateKey(options.dataDir));
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteRegistry(db, hasher, options.now);
}

class SqliteRegistry implements Registry {
  readonly devices: DeviceStore;
  readonly tokens: TokenStore;
  readonly recordings: RecordingStore;
  readonly #db: Db;
  readonly #watches = new Set<CredentialWatch>();
  #closed = false;

  constructor(db: Db, hasher: SecretHasher, now?: () => number) {
    this.#db = db;
    this.devices = new DeviceStore(db, hasher, now);
    this.tokens = new TokenStore(db, hasher, now);
    this.recordings = new RecordingStore(db);
  }

  watchCredentials(listener: CredentialListener, intervalMs = 250): () => void {
    const watch = new CredentialWatch(this.#db, listener, intervalMs);
    this.#watches.add(watch);
    return () => {
      watch.close();
      this.#watches.delete(watch);
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of this.#watches) watch.close();
    this.#watches.clear();
    this.#db.close();
  }
}
