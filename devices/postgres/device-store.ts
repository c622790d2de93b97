import type pg from 'pg';
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
  DeviceEventKind,
  IssuedCredentials,
  PresenceChange,
  RecordMode,
  VerifyResult,
} from '../types.js';
import type { PgPool } from './pool.js';

export interface PgDeviceRow {
  id: string;
  name: string;
  secret_hash: Buffer;
  secret_generation: number;
  created_at: number;
  last_seen_at: number | null;
  online: boolean;
  revoked_at: number | null;
  record_mode: RecordMode;
  record_active: boolean;
  record_max_age_hours: number | null;
}

export const PG_DEVICE_COLUMNS =
  'id, name, secret_hash, secret_generation, created_at, last_seen_at, online, revoked_at, record_mode, record_active, record_max_age_hours';

/** The NOTIFY channel of device events (devices/postgres/event-watch.ts listens). */
export const DEVICE_EVENTS_CHANNEL = 'lookout_device_events';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** Devices and their secrets in PostgreSQL. All SQL for the `devices` table lives here. */
export class PgDeviceStore implements DeviceStore {
  constructor(
    private readonly pool: PgPool,
    private readonly hasher: SecretHasher,
    private readonly now: () => number = Date.now,
  ) {}

  async add(id: string, name?: string): Promise<IssuedCredentials> {
    assertDeviceId(id);
    const displayName = checkName(name ?? id);
    const secret = generateSecret(DEVICE_SECRET_PREFIX);
    try {
      await this.pool.transaction(async (client) => {
        await client.query(
          'INSERT INTO devices (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)',
          [id, displayName, this.hasher.hash(secret), this.now()],
        );
        await this.#event(client, id, 'added');
      });
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw deviceExists(id);
      throw err;
    }
    return { device: await this.require(id), secret };
  }

  async get(id: string): Promise<Device | undefined> {
    const row = await this.#row(id);
    return row && toDevice(row);
  }

  async require(id: string): Promise<Device> {
    const device = await this.get(id);
    if (!device) throw deviceNotFound(id);
    return device;
  }

  async list(): Promise<Device[]> {
    const { rows } = await this.pool.query<PgDeviceRow>(
      `SELECT ${PG_DEVICE_COLUMNS} FROM devices ORDER BY id`,
    );
    return rows.map(toDevice);
  }

  async rename(id: string, name: string): Promise<Device> {
    const checked = checkName(name);
    const { rowCount } = await this.pool.query('UPDATE devices SET name = $2 WHERE id = $1', [id, checked]);
    if (rowCount === 0) throw deviceNotFound(id);
    return this.require(id);
  }

  async setRecording(
    id: string,
    change: { mode?: RecordMode; active?: boolean; maxAgeHours?: number | null },
  ): Promise<Device> {
    await this.pool.transaction(async (client) => {
      const row = await this.#locked(client, id);
      const next = nextRecordingPolicy(id, toDevice(row).recording, change);
      await client.query(
        'UPDATE devices SET record_mode = $2, record_active = $3, record_max_age_hours = $4 WHERE id = $1',
        [id, next.mode, next.active, next.maxAgeHours],
      );
      await this.#event(client, id, 'recording');
    });
    return this.require(id);
  }

  async rotate(id: string): Promise<IssuedCredentials> {
    const secret = generateSecret(DEVICE_SECRET_PREFIX);
    await this.pool.transaction(async (client) => {
      await this.#locked(client, id);
      await client.query(
        'UPDATE devices SET secret_hash = $2, secret_generation = secret_generation + 1, revoked_at = NULL WHERE id = $1',
        [id, this.hasher.hash(secret)],
      );
      await this.#event(client, id, 'rotated');
    });
    return { device: await this.require(id), secret };
  }

  async revoke(id: string): Promise<Device> {
    await this.pool.transaction(async (client) => {
      await this.#locked(client, id);
      await client.query('UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
        id,
        this.now(),
      ]);
      await this.#event(client, id, 'revoked');
    });
    return this.require(id);
  }

  async delete(id: string, options: { recordings: DeleteRecordings }): Promise<DeletedDevice> {
    return this.pool.transaction(async (client) => {
      const device = toDevice(await this.#locked(client, id));
      await client.query('DELETE FROM devices WHERE id = $1', [id]);
      let segments: DeletedDevice['segments'] = [];
      if (options.recordings === 'delete') {
        const { rows } = await client.query<SegmentRow>(
          `DELETE FROM segments WHERE device_id = $1 RETURNING ${SEGMENT_COLUMNS}`,
          [id],
        );
        segments = rows.map(toSegment).sort((a, b) => a.startMs - b.startMs || a.id - b.id);
        await client.query('DELETE FROM recording_gaps WHERE device_id = $1', [id]);
      }
      await this.#event(client, id, 'deleted');
      return { device, segments };
    });
  }

  async verifySecret(id: string, secret: string): Promise<VerifyResult> {
    const row = await this.#row(id);
    if (!row) return { ok: false, reason: 'unknown-device' };
    if (!this.hasher.matches(secret, row.secret_hash)) return { ok: false, reason: 'wrong-secret' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    return { ok: true, generation: row.secret_generation };
  }

  async credentialState(id: string): Promise<CredentialState | undefined> {
    const row = await this.#row(id);
    return row && { generation: row.secret_generation, revoked: row.revoked_at !== null };
  }

  async markOnline(id: string): Promise<void> {
    await this.recordPresence([{ id, online: true, at: this.now() }]);
  }

  async markOffline(id: string): Promise<void> {
    await this.recordPresence([{ id, online: false, at: this.now() }]);
  }

  /** One statement for the whole batch; the last change of a device in it wins. */
  async recordPresence(changes: readonly PresenceChange[]): Promise<void> {
    const last = new Map<string, PresenceChange>();
    for (const change of changes) last.set(change.id, change);
    if (last.size === 0) return;
    const batch = [...last.values()];
    await this.pool.query(
      `UPDATE devices AS d SET online = c.online, last_seen_at = c.at
       FROM unnest($1::text[], $2::boolean[], $3::bigint[]) AS c(id, online, at) WHERE d.id = c.id`,
      [batch.map((c) => c.id), batch.map((c) => c.online), batch.map((c) => c.at)],
    );
  }

  async markAllOffline(): Promise<void> {
    await this.pool.query('UPDATE devices SET online = false WHERE online');
  }

  async #row(id: string): Promise<PgDeviceRow | undefined> {
    if (!isDeviceId(id)) return undefined;
    const { rows } = await this.pool.query<PgDeviceRow>(
      `SELECT ${PG_DEVICE_COLUMNS} FROM devices WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /** The device's row, locked until the transaction ends; DEVICE_NOT_FOUND when there is none. */
  async #locked(client: pg.PoolClient, id: string): Promise<PgDeviceRow> {
    const { rows } = isDeviceId(id)
      ? await client.query<PgDeviceRow>(`SELECT ${PG_DEVICE_COLUMNS} FROM devices WHERE id = $1 FOR UPDATE`, [
          id,
        ])
      : { rows: [] };
    if (!rows[0]) throw deviceNotFound(id);
    return rows[0];
  }

  /** Logs a device event; its NOTIFY reaches the listeners when the transaction commits. */
  async #event(client: pg.PoolClient, id: string, kind: DeviceEventKind): Promise<void> {
    const { rows } = await client.query<{ seq: number }>(
      'INSERT INTO device_events (device_id, kind, at) VALUES ($1, $2, $3) RETURNING seq',
      [id, kind, this.now()],
    );
    await client.query('SELECT pg_notify($1, $2)', [DEVICE_EVENTS_CHANNEL, String(rows[0]!.seq)]);
  }
}

export function toDevice(row: PgDeviceRow): Device {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    online: row.online,
    revokedAt: row.revoked_at,
    secretGeneration: row.secret_generation,
    recording: {
      mode: row.record_mode,
      active: row.record_active,
      maxAgeHours: row.record_max_age_hours,
    },
  };
}
