import { assertDeviceId, isDeviceId } from '../device-id.js';
import { checkName, deviceExists, deviceNotFound, nextRecordingPolicy } from '../device-rules.js';
import { SEGMENT_COLUMNS, type SegmentRow, toSegment } from '../rows.js';
import { DEVICE_SECRET_PREFIX, generateSecret, type SecretHasher } from '../secrets.js';
import type { DeviceStore } from '../stores.js';
import type {
  CredentialState,
  DeletedDevice,
  DeleteRecordings,
  Device,
  IssuedCredentials,
  PresenceChange,
  RecordMode,
  VerifyResult,
} from '../types.js';
import type { Db } from './db.js';

export interface DeviceRow {
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

export const DEVICE_COLUMNS =
  'id, name, secret_hash, secret_generation, created_at, last_seen_at, online, revoked_at, record_mode, record_active, record_max_age_hours';

/**
 * Devices and their secrets in SQLite. All SQL for the `devices` table lives here. The
 * work is synchronous (better-sqlite3); the methods answer with settled promises.
 */
export class SqliteDeviceStore implements DeviceStore {
  readonly #db: Db;
  readonly #hasher: SecretHasher;
  readonly #now: () => number;
  readonly #stmt;

  constructor(db: Db, hasher: SecretHasher, now: () => number = Date.now) {
    this.#db = db;
    this.#hasher = hasher;
    this.#now = now;
    this.#stmt = {
      get: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`),
      list: db.prepare<[], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`),
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
      delete: db.prepare('DELETE FROM devices WHERE id = ?'),
      segmentsOf: db.prepare<[string], SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE device_id = ? ORDER BY start_ms, id`,
      ),
      deleteSegments: db.prepare('DELETE FROM segments WHERE device_id = ?'),
      deleteGaps: db.prepare('DELETE FROM recording_gaps WHERE device_id = ?'),
      event: db.prepare('INSERT INTO credential_events (device_id, kind, at) VALUES (?, ?, ?)'),
      presence: db.prepare('UPDATE devices SET online = @online, last_seen_at = @now WHERE id = @id'),
      allOffline: db.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
    };
  }

  async add(id: string, name?: string): Promise<IssuedCredentials> {
    assertDeviceId(id);
    const displayName = checkName(name ?? id);
    const secret = generateSecret(DEVICE_SECRET_PREFIX);
    try {
      this.#db.transaction(() => {
        this.#stmt.insert.run({ id, name: displayName, hash: this.#hasher.hash(secret), now: this.#now() });
        this.#stmt.event.run(id, 'added', this.#now());
      })();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw deviceExists(id);
      throw err;
    }
    return { device: this.#require(id), secret };
  }

  async get(id: string): Promise<Device | undefined> {
    return this.#get(id);
  }

  async require(id: string): Promise<Device> {
    return this.#require(id);
  }

  async list(): Promise<Device[]> {
    return this.#stmt.list.all().map(toDevice);
  }

  async rename(id: string, name: string): Promise<Device> {
    this.#require(id);
    this.#stmt.rename.run({ id, name: checkName(name) });
    return this.#require(id);
  }

  async setRecording(
    id: string,
    change: { mode?: RecordMode; active?: boolean; maxAgeHours?: number | null },
  ): Promise<Device> {
    this.#db.transaction(() => {
      const next = nextRecordingPolicy(id, this.#require(id).recording, change);
      this.#stmt.recording.run({
        id,
        mode: next.mode,
        active: next.active ? 1 : 0,
        maxAge: next.maxAgeHours,
      });
      this.#stmt.event.run(id, 'recording', this.#now());
    })();
    return this.#require(id);
  }

  async rotate(id: string): Promise<IssuedCredentials> {
    const secret = generateSecret(DEVICE_SECRET_PREFIX);
    this.#db.transaction(() => {
      this.#require(id);
      this.#stmt.rotate.run({ id, hash: this.#hasher.hash(secret) });
      this.#stmt.event.run(id, 'rotated', this.#now());
    })();
    return { device: this.#require(id), secret };
  }

  async revoke(id: string): Promise<Device> {
    this.#db.transaction(() => {
      this.#require(id);
      this.#stmt.revoke.run({ id, now: this.#now() });
      this.#stmt.event.run(id, 'revoked', this.#now());
    })();
    return this.#require(id);
  }

  async delete(id: string, options: { recordings: DeleteRecordings }): Promise<DeletedDevice> {
    return this.#db.transaction(() => {
      const device = this.#require(id);
      this.#stmt.delete.run(id);
      let segments: DeletedDevice['segments'] = [];
      if (options.recordings === 'delete') {
        segments = this.#stmt.segmentsOf.all(id).map(toSegment);
        this.#stmt.deleteSegments.run(id);
        this.#stmt.deleteGaps.run(id);
      }
      this.#stmt.event.run(id, 'deleted', this.#now());
      return { device, segments };
    })();
  }

  async verifySecret(id: string, secret: string): Promise<VerifyResult> {
    const row = isDeviceId(id) ? this.#stmt.get.get(id) : undefined;
    if (!row) return { ok: false, reason: 'unknown-device' };
    if (!this.#hasher.matches(secret, row.secret_hash)) return { ok: false, reason: 'wrong-secret' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    return { ok: true, generation: row.secret_generation };
  }

  async credentialState(id: string): Promise<CredentialState | undefined> {
    return this.credentialStateNow(id);
  }

  /** credentialState(), answered synchronously (Registry.readNow). */
  credentialStateNow(id: string): CredentialState | undefined {
    const row = isDeviceId(id) ? this.#stmt.get.get(id) : undefined;
    return row && { generation: row.secret_generation, revoked: row.revoked_at !== null };
  }

  async markOnline(id: string): Promise<void> {
    this.#stmt.presence.run({ id, online: 1, now: this.#now() });
  }

  async markOffline(id: string): Promise<void> {
    this.#stmt.presence.run({ id, online: 0, now: this.#now() });
  }

  async recordPresence(changes: readonly PresenceChange[]): Promise<void> {
    this.#db.transaction(() => {
      for (const c of changes) this.#stmt.presence.run({ id: c.id, online: c.online ? 1 : 0, now: c.at });
    })();
  }

  async markAllOffline(): Promise<void> {
    this.#stmt.allOffline.run();
  }

  #get(id: string): Device | undefined {
    if (!isDeviceId(id)) return undefined;
    const row = this.#stmt.get.get(id);
    return row && toDevice(row);
  }

  #require(id: string): Device {
    const device = this.#get(id);
    if (!device) throw deviceNotFound(id);
    return device;
  }
}

export function toDevice(row: DeviceRow): Device {
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
