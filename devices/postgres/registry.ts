import { LookoutError } from '../../core/errors.js';
import { keyFingerprint, SecretHasher } from '../secrets.js';
import type {
  DeviceStore,
  RecordingStore,
  Registry,
  RegistryTransfer,
  TokenStore,
  UserStore,
} from '../stores.js';
import type { CredentialListener } from '../types.js';
import { PgDeviceStore } from './device-store.js';
import { PgEventWatch } from './event-watch.js';
import { migratePostgres } from './migrations.js';
import { PgPool, type PostgresOptions } from './pool.js';
import { PgRecordingStore } from './recording-store.js';
import { PgTokenStore } from './token-store.js';
import { PgTransfer } from './transfer.js';
import { PgUserStore } from './user-store.js';

/** The registry of a cluster: PostgreSQL, shared by every node (docs/registry.md). */
export class PgRegistry implements Registry {
  readonly kind = 'postgres';
  readonly devices: DeviceStore;
  readonly tokens: TokenStore;
  readonly users: UserStore;
  readonly recordings: RecordingStore;
  readonly transfer: RegistryTransfer;
  readonly keyFingerprint: string;
  readonly #pool: PgPool;
  readonly #options: PostgresOptions;
  readonly #watches = new Set<PgEventWatch>();
  readonly #now: (() => number) | undefined;
  #closing: Promise<void> | undefined;

  constructor(pool: PgPool, options: PostgresOptions, key: Buffer, now?: () => number) {
    const hasher = new SecretHasher(key);
    this.keyFingerprint = keyFingerprint(key);
    this.#pool = pool;
    this.#options = options;
    this.#now = now;
    this.devices = new PgDeviceStore(pool, hasher, now);
    this.tokens = new PgTokenStore(pool, hasher, now);
    this.users = new PgUserStore(pool, hasher, now);
    this.recordings = new PgRecordingStore(pool);
    this.transfer = new PgTransfer(pool);
  }

  watchCredentials(listener: CredentialListener): () => void {
    const watch = new PgEventWatch(
      this.#pool,
      this.#options,
      listener,
      (err) => this.#options.onIdleError?.(err),
      this.#now,
    );
    this.#watches.add(watch);
    return () => {
      watch.close();
      this.#watches.delete(watch);
    };
  }

  /** Stops the watches, waits for the queries in flight, closes every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const watch of this.#watches) watch.close();
      this.#watches.clear();
      await this.#pool.close();
    })();
    return this.#closing;
  }
}

/**
 * Connects to the PostgreSQL registry, applies its migrations and checks the key: every
 * node must hash with the key the registry's secrets were hashed with (D29). The first
 * key to open a registry is recorded (its fingerprint); a later one that differs is
 * refused with REGISTRY_KEY_MISMATCH, unless the registry holds no device or token yet.
 */
export async function openPgRegistry(
  options: PostgresOptions,
  key: Buffer,
  now?: () => number,
): Promise<PgRegistry> {
  new SecretHasher(key); // refuses a short key before connecting
  const pool = new PgPool(options);
  try {
    await migratePostgres(pool);
    await checkKey(pool, keyFingerprint(key));
    return new PgRegistry(pool, options, key, now);
  } catch (err) {
    await pool.close();
    throw err;
  }
}

async function checkKey(pool: PgPool, fingerprint: string): Promise<void> {
  await pool.transaction(async (client) => {
    await client.query('LOCK TABLE registry_meta IN EXCLUSIVE MODE');
    const { rows } = await client.query<{ value: string }>(
      "SELECT value FROM registry_meta WHERE key = 'key_fingerprint'",
    );
    const stored = rows[0]?.value;
    if (stored === fingerprint) return;
    if (stored !== undefined) {
      const { rows: used } = await client.query<{ n: number }>(
        'SELECT ((SELECT COUNT(*) FROM devices) + (SELECT COUNT(*) FROM api_tokens) + (SELECT COUNT(*) FROM users))::bigint AS n',
      );
      if (used[0]!.n > 0) {
        throw new LookoutError(
          'REGISTRY_KEY_MISMATCH',
          `this node's registry key (fingerprint ${fingerprint}) is not the one the registry's secrets were hashed with (${stored}); copy the registry.key of the first node to this one (cluster.registryKeyFile)`,
          { local: fingerprint, registry: stored },
        );
      }
    }
    await client.query(
      `INSERT INTO registry_meta (key, value) VALUES ('key_fingerprint', $1)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [fingerprint],
    );
  });
}
