import { registryNotEmpty } from '../device-rules.js';
import { GAP_COLUMNS, type GapRow, SEGMENT_COLUMNS, type SegmentRow, toGap, toSegment } from '../rows.js';
import type { RegistryTransfer, TransferRow } from '../stores.js';
import { TOKEN_COLUMNS } from '../token-scope.js';
import { inBatches, TRANSFER_BATCH } from '../transfer-batches.js';
import type { Db } from './db.js';
import { DEVICE_COLUMNS, type DeviceRow, toDevice } from './device-store.js';
import { type TokenRow, toToken } from './token-store.js';
import { toGrant, toUser, type UserRow } from './user-store.js';

/** `lookout db export|import` on a SQLite registry: keyset-paged reads, batched writes. */
export class SqliteTransfer implements RegistryTransfer {
  constructor(private readonly db: Db) {}

  async exportRows(each: (row: TransferRow) => Promise<void> | void): Promise<void> {
    const devices = this.db.prepare<[string], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices WHERE id > ? ORDER BY id LIMIT ${TRANSFER_BATCH}`,
    );
    for (let rows = devices.all(''); rows.length > 0; rows = devices.all(rows.at(-1)!.id)) {
      for (const row of rows)
        await each({ kind: 'device', device: toDevice(row), secretHash: row.secret_hash.toString('hex') });
    }
    const tokens = this.db.prepare<[string], TokenRow & { token_hash: Buffer }>(
      `SELECT ${TOKEN_COLUMNS}, token_hash FROM api_tokens
       WHERE id > ? ORDER BY id LIMIT ${TRANSFER_BATCH}`,
    );
    for (let rows = tokens.all(''); rows.length > 0; rows = tokens.all(rows.at(-1)!.id)) {
      for (const row of rows)
        await each({ kind: 'token', token: toToken(row), tokenHash: row.token_hash.toString('hex') });
    }
    const users = this.db.prepare<[string], UserRow>(
      `SELECT * FROM users WHERE name > ? ORDER BY name LIMIT ${TRANSFER_BATCH}`,
    );
    const grants = this.db.prepare<[string], Parameters<typeof toGrant>[0]>(
      'SELECT * FROM user_grants WHERE user_name = ? ORDER BY device_id',
    );
    for (let rows = users.all(''); rows.length > 0; rows = users.all(rows.at(-1)!.name)) {
      for (const row of rows) {
        await each({
          kind: 'user',
          user: toUser(row),
          passwordHash: row.password_hash,
          grants: grants.all(row.name).map(toGrant),
        });
      }
    }
    const segments = this.db.prepare<[number], SegmentRow>(
      `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE id > ? ORDER BY id LIMIT ${TRANSFER_BATCH}`,
    );
    for (let rows = segments.all(0); rows.length > 0; rows = segments.all(rows.at(-1)!.id)) {
      for (const row of rows) await each({ kind: 'segment', segment: toSegment(row) });
    }
    const gaps = this.db.prepare<[number], GapRow>(
      `SELECT ${GAP_COLUMNS} FROM recording_gaps WHERE id > ? ORDER BY id LIMIT ${TRANSFER_BATCH}`,
    );
    for (let rows = gaps.all(0); rows.length > 0; rows = gaps.all(rows.at(-1)!.id)) {
      for (const row of rows) await each({ kind: 'gap', gap: toGap(row) });
    }
  }

  async importRows(rows: AsyncIterable<TransferRow>, progress?: (count: number) => void): Promise<number> {
    const used = this.db
      .prepare<[], { n: number }>(
        `SELECT (SELECT COUNT(*) FROM devices) + (SELECT COUNT(*) FROM api_tokens) + (SELECT COUNT(*) FROM users)
              + (SELECT COUNT(*) FROM segments) + (SELECT COUNT(*) FROM recording_gaps) AS n`,
      )
      .get()!.n;
    if (used > 0) throw registryNotEmpty(used);
    const insert = {
      device: this.db.prepare(
        `INSERT INTO devices (${DEVICE_COLUMNS}) VALUES (@id, @name, @hash, @generation, @createdAt,
          @lastSeenAt, @online, @revokedAt, @mode, @active, @maxAge)`,
      ),
      token: this.db.prepare(
        `INSERT INTO api_tokens (id, name, token_hash, created_at, last_used_at, revoked_at, user_name, cameras, read_only)
         VALUES (@id, @name, @hash, @createdAt, @lastUsedAt, @revokedAt, @user, @cameras, @readOnly)`,
      ),
      user: this.db.prepare(
        `INSERT INTO users (name, role, password_hash, password_generation, created_at)
         VALUES (@name, @role, @hash, @passwordGeneration, @createdAt)`,
      ),
      grant: this.db.prepare(
        'INSERT INTO user_grants (user_name, device_id, live, recordings) VALUES (?, ?, ?, ?)',
      ),
      segment: this.db.prepare(
        `INSERT INTO segments (${SEGMENT_COLUMNS}) VALUES (@id, @deviceId, @startMs, @endMs, @durationMs,
          @bytes, @videoCodec, @audioCodec, @path, @state, @node)`,
      ),
      gap: this.db.prepare(
        `INSERT INTO recording_gaps (${GAP_COLUMNS})
         VALUES (@id, @deviceId, @startMs, @endMs, @reason, @node)`,
      ),
    };
    const write = this.db.transaction((batch: TransferRow[]) => {
      for (const row of batch) {
        if (row.kind === 'device') {
          const d = row.device;
          insert.device.run({
            id: d.id,
            name: d.name,
            hash: Buffer.from(row.secretHash, 'hex'),
            generation: d.secretGeneration,
            createdAt: d.createdAt,
            lastSeenAt: d.lastSeenAt,
            online: d.online ? 1 : 0,
            revokedAt: d.revokedAt,
            mode: d.recording.mode,
            active: d.recording.active ? 1 : 0,
            maxAge: d.recording.maxAgeHours,
          });
        } else if (row.kind === 'token') {
          const t = row.token;
          insert.token.run({
            ...t,
            hash: Buffer.from(row.tokenHash, 'hex'),
            cameras: t.cameras === null ? null : JSON.stringify(t.cameras),
            readOnly: t.readOnly ? 1 : 0,
          });
        } else if (row.kind === 'user') {
          insert.user.run({ ...row.user, hash: row.passwordHash });
          for (const g of row.grants)
            insert.grant.run(row.user.name, g.camera, g.live ? 1 : 0, g.recordings ? 1 : 0);
        } else if (row.kind === 'segment') insert.segment.run(row.segment);
        else insert.gap.run(row.gap);
      }
    });
    let count = 0;
    for await (const batch of inBatches(rows)) {
      write.immediate(batch);
      count += batch.length;
      progress?.(count);
    }
    return count;
  }
}
