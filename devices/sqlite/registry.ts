import { keyFingerprint, SecretHasher } from '../secrets.js';
import type {
  DeviceStore,
  RecordingStore,
  Registry,
  RegistryTransfer,
  TokenStore,
  UserStore,
} from '../stores.js';
import type { CredentialListener, CredentialState } from '../types.js';
import { SqliteCredentialWatch } from './credential-watch.js';
import { type Db, openDatabase } from './db.js';
import { SqliteDeviceStore } from './device-store.js';
import { SqliteRecordingStore } from './recording-store.js';
import { SqliteTokenStore } from './token-store.js';
import { SqliteTransfer } from './transfer.js';
import { SqliteUserStore } from './user-store.js';

/** The single-host registry: one SQLite file in the data directory (the default). */
export class SqliteRegistry implements Registry {
  readonly kind = 'sqlite';
  readonly devices: DeviceStore;
  readonly tokens: TokenStore;
  readonly users: UserStore;
  readonly recordings: RecordingStore;
  readonly transfer: RegistryTransfer;
  readonly keyFingerprint: string;
  readonly readNow: { credentialState(id: string): CredentialState | undefined };
  readonly #db: Db;
  readonly #watches = new Set<SqliteCredentialWatch>();
  #closed = false;

  constructor(db: Db, key: Buffer, now?: () => number, nodeId?: string) {
    const hasher = new SecretHasher(key);
    this.keyFingerprint = keyFingerprint(key);
    this.#db = db;
    const devices = new SqliteDeviceStore(db, hasher, now);
    this.devices = devices;
    this.readNow = { credentialState: (id) => devices.credentialStateNow(id) };
    this.tokens = new SqliteTokenStore(db, hasher, now);
    this.users = new SqliteUserStore(db, hasher, now);
    const recordings = new SqliteRecordingStore(db);
    if (nodeId !== undefined) recordings.labelAll(nodeId);
    this.recordings = recordings;
    this.transfer = new SqliteTransfer(db);
  }

  watchCredentials(listener: CredentialListener, intervalMs = 250): () => void {
    const watch = new SqliteCredentialWatch(this.#db, listener, intervalMs);
    this.#watches.add(watch);
    return () => {
      watch.close();
      this.#watches.delete(watch);
    };
  }

  /** Queries run synchronously underneath, so none is ever in flight here. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const watch of this.#watches) watch.close();
    this.#watches.clear();
    this.#db.close();
  }
}

/** Opens (creating when `create`) the SQLite registry of `dataDir` with all migrations applied. */
export function openSqliteRegistry(
  dataDir: string,
  create: boolean,
  loadKey: () => Buffer,
  now?: () => number,
  nodeId?: string,
): SqliteRegistry {
  // The database first: with `create: false` a missing registry is refused before the key file is made.
  const db = openDatabase(dataDir, { create });
  try {
    return new SqliteRegistry(db, loadKey(), now, nodeId);
  } catch (err) {
    db.close();
    throw err;
  }
}
