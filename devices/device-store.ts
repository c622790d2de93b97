import { LookoutError } from '../core/errors.js';
import type { Db } from './db.js';
import { assertDeviceId, isDeviceId } from './device-id.js';
import { DEVICE_SECRET_PREFIX, generateSecret, type SecretHasher } from './secrets.js';

/** A registered camera, as every component sees it. Times are epoch milliseconds. */
export interface Device {
  id: string;
  name: string;
  createdAt: number;
  lastSeenAt: number | null;
  online: boolean;
  revokedAt: number | null;
  /** Bumped on every rotate; a session authenticated under an older one is stale. */
  secretGeneration: number;
  recording: RecordingPolicy;
}

export type RecordMode = 'off' | 'continuous' | 'on-demand';
export const RECORD_MODES: readonly RecordMode[] = ['off', 'continuous', 'on-demand'];

/** What the recorder should do for a device. */
export interface RecordingPolicy {
  mode: RecordMode;
  /** on-demand: a user has started recording and not stopped it yet. */
  active: boolean;
  /** Retention override in hours; null means the global `recording.maxAgeHours`. */
  maxAgeHours: number | null;
}

/** Whether the device should be recorded now. */
export function wantsRecording(policy: RecordingPolicy): boolean {
  return policy.mode === 'continuous' || (policy.mode === 'on-demand' && policy.active);
}

/** A device and its secret: the only time a secret is ever available in clear. */
export interface IssuedCredentials {
  device: Device;
  secret: string;
}

export type VerifyResult =
  | { ok: true; generation: number }
  | { ok: false; reason: 'unknown-device' | 'revoked' | 'wrong-secret' };

export interface CredentialState {
  generation: number;
  revoked: boolean;
}

interface DeviceRow {
  id: string;
  name: string;
  secret_hash: Buffer;
  secret_generation: number;
  created_at: number;
  last_seen_at: number | null;
  online: number;
  revoked_at: number | null;
  record_mode: RecordMode;
  record_active: number;
  record_max_age_hours: number | null;
}

const COLUMNS =
  'id, name, secret_hash, secret_generation, created_at, last_seen_at, online, revoked_at, record_mode, record_active, record_max_age_hours';
const NAME_MAX = 200;

/** Devices and their secrets. All SQL for the `devices` table lives here. */
export class DeviceStore {
  readonly #db: Db;
  readonly #hasher: SecretHasher;
  readonly #now: () => number;
  readonly #stmt;

  constructor(db: Db, hasher: SecretHasher, now: () => number = Date.now) {
    this.#db = db;
    this.#hasher = hasher;
    this.#now = now;
    this.#stmt = {
      get: db.prepare<[string], DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE id = ?`),
      list: db.prepare<[], DeviceRow>(`SELECT ${COLUMNS} FROM devices ORDER BY id`),
      insert: db.prepare(
        'INSERT INTO devices (id, name, secret_hash, created_at) VALUES (@id, @name, @hash, @now)',
      ),
      rotate: db.prepare(
        'UPDATE devices SET secret_hash = @hash, secret_generation = secret_generation + 1, revoked_at = NULL WHERE id = @id',
      ),
      revoke: db.prepare('UPDATE devices SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL'),
      rename: db.prepare('UPDATE devices SET name = @name WHERE id = @id'),
      recording: db.prepare(
        'UPDATE devices SET record_mode = @mode, record_active = @active, record_max_age_hours = @maxAge WHERE id = @id',
      ),
      event: db.prepare('INSERT INTO credential_events (device_id, kind, at) VALUES (?, ?, ?)'),
      presence: db.prepare('UPDATE devices SET online = @online, last_seen_at = @now WHERE id = @id'),
      allOffline: db.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
    };
  }

  /** Registers a device and issues its first secret. Throws DEVICE_ID_INVALID or DEVICE_EXISTS. */
  add(id: string, name?: string): IssuedCredentials {
    assertDeviceId(id);
    const displayName = checkName(name ?? id);
    const secret = generateSecret(DEVICE_SECRET_PREFIX);
    try {
      this.#stmt.insert.run({ id, name: displayName, hash: this.#hasher.hash(secret), now: this.#now() });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new LookoutError(
          'DEVICE_EXISTS',
          `device '${id}' already exists (use 'device rotate ${id}' for a new secret)`,
          { id },
        );
      }
      throw err;
    }
    return { device: this.require(id), secret };
  }

  get(id: string): Device | undefined {
    if (!isDeviceId(id)) return undefined;
    const row = this.#stmt.get.get(id);
    return row && toDevice(row);
  }

  /** Like get(), but throws DEVICE_NOT_FOUND. */
  require(id: string): Device {
    const device = this.get(id);
    if (!device) throw new LookoutError('DEVICE_NOT_FOUND', `no device '${id}'`, { id });
    return device;
  }

  list(): Device[] {
    return this.#stmt.list.all().map(toDevice);
  }

  rename(id: string, name: string): Device {
    this.require(id);
    this.#stmt.rename.run({ id, name: checkName(name) });
    return this.require(id);
  }

  /**
   * Changes the recording policy. A running server (this process or another) picks the
   * change up through the device event log within a second. Switching to `on-demand`
   * or `off` clears an active on-demand recording; `active` applies only to `on-demand`.
   */
  setRecording(
    id: string,
    change: { mode?: RecordMode; active?: boolean; maxAgeHours?: number | null },
  ): Device {
    this.#db.transaction(() => {
      const current = this.require(id).recording;
      const mode = change.mode ?? current.mode;
      if (change.active !== undefined && mode !== 'on-demand') {
        throw new LookoutError(
          'RECORD_MODE_CONFLICT',
          `device '${id}' records '${mode}'; start and stop apply to 'on-demand' (set it with --record on-demand)`,
          { id, mode },
        );
      }
      const maxAge = change.maxAgeHours === undefined ? current.maxAgeHours : change.maxAgeHours;
      if (maxAge !== null && (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 87_600)) {
        throw new LookoutError('RECORD_MAX_AGE_INVALID', 'retention must be 1-87600 hours', { maxAge });
      }
      const active = mode === 'on-demand' && (change.active ?? (mode === current.mode && current.active));
      this.#stmt.recording.run({ id, mode, active: active ? 1 : 0, maxAge });
      this.#stmt.event.run(id, 'recording', this.#now());
    })();
    return this.require(id);
  }

  /**
   * Issues a new secret; the old one stops working at once and sessions using it are
   * disconnected by the broker. A revoked device is reinstated with the new secret.
   */
  rotate(id: string): IssuedCredentials {
    const secret = generateSecret(DEVICE_SECRET_PREFIX);
    this.#db.transaction(() => {
      this.require(id);
      this.#stmt.rotate.run({ id, hash: this.#hasher.hash(secret) });
      this.#stmt.event.run(id, 'rotated', this.#now());
    })();
    return { device: this.require(id), secret };
  }

  /** Refuses the device's secret from now on; connected sessions are disconnected. */
  revoke(id: string): Device {
    this.#db.transaction(() => {
      this.require(id);
      this.#stmt.revoke.run({ id, now: this.#now() });
      this.#stmt.event.run(id, 'revoked', this.#now());
    })();
    return this.require(id);
  }

  /** Checks a device's secret in constant time (for a known device). Never throws on bad input. */
  verifySecret(id: string, secret: string): VerifyResult {
    const row = isDeviceId(id) ? this.#stmt.get.get(id) : undefined;
    if (!row) return { ok: false, reason: 'unknown-device' };
    if (!this.#hasher.matches(secret, row.secret_hash)) return { ok: false, reason: 'wrong-secret' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    return { ok: true, generation: row.secret_generation };
  }

  /** What a live session's credentials are checked against after a change. */
  credentialState(id: string): CredentialState | undefined {
    const row = isDeviceId(id) ? this.#stmt.get.get(id) : undefined;
    return row && { generation: row.secret_generation, revoked: row.revoked_at !== null };
  }

  markOnline(id: string): void {
    this.#stmt.presence.run({ id, online: 1, now: this.#now() });
  }

  markOffline(id: string): void {
    this.#stmt.presence.run({ id, online: 0, now: this.#now() });
  }

  /**
   * Records many presence changes in one transaction, each with the time it happened
   * (the broker batches them: one transaction per interval, not per CONNECT).
   */
  recordPresence(changes: ReadonlyArray<{ id: string; online: boolean; at: number }>): void {
    this.#db.transaction(() => {
      for (const c of changes) this.#stmt.presence.run({ id: c.id, online: c.online ? 1 : 0, now: c.at });
    })();
  }

  /** At server start nothing is connected yet, whatever a crash left behind. */
  markAllOffline(): void {
    this.#stmt.allOffline.run();
  }
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > NAME_MAX || /\p{Cc}/u.test(trimmed)) {
    throw new LookoutError('DEVICE_NAME_INVALID', `device name must be 1-${NAME_MAX} printable characters`, {
      name,
    });
  }
  return trimmed;
}

function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    online: row.online === 1,
    revokedAt: row.revoked_at,
    secretGeneration: row.secret_generation,
    recording: {
      mode: row.record_mode,
      active: row.record_active === 1,
      maxAgeHours: row.record_max_age_hours,
    },
  };
}
