import { registryNotEmpty } from '../device-rules.js';
import { GAP_COLUMNS, type GapRow, SEGMENT_COLUMNS, type SegmentRow, toGap, toSegment } from '../rows.js';
import type { RegistryTransfer, TransferRow } from '../stores.js';
import { TOKEN_COLUMNS } from '../token-scope.js';
import { inBatches, TRANSFER_BATCH } from '../transfer-batches.js';
import { PG_DEVICE_COLUMNS, type PgDeviceRow, toDevice } from './device-store.js';
import type { PgPool } from './pool.js';
import { type PgTokenRow, toToken } from './token-store.js';
import { type PgUserRow, toGrant, toUser } from './user-store.js';

/** `lookout db export|import` on a PostgreSQL registry: keyset-paged reads, one transaction per batch. */
export class PgTransfer implements RegistryTransfer {
  constructor(private readonly pool: PgPool) {}

  async exportRows(each: (row: TransferRow) => Promise<void> | void): Promise<void> {
    let afterId = '';
    for (;;) {
      const { rows } = await this.pool.query<PgDeviceRow>(
        `SELECT ${PG_DEVICE_COLUMNS} FROM devices WHERE id > $1 ORDER BY id LIMIT $2`,
        [afterId, TRANSFER_BATCH],
      );
      for (const row of rows)
        await each({ kind: 'device', device: toDevice(row), secretHash: row.secret_hash.toString('hex') });
      if (rows.length < TRANSFER_BATCH) break;
      afterId = rows.at(-1)!.id;
    }
    afterId = '';
    for (;;) {
      const { rows } = await this.pool.query<PgTokenRow & { token_hash: Buffer }>(
        `SELECT ${TOKEN_COLUMNS}, token_hash FROM api_tokens
         WHERE id > $1 ORDER BY id LIMIT $2`,
        [afterId, TRANSFER_BATCH],
      );
      for (const row of rows)
        await each({ kind: 'token', token: toToken(row), tokenHash: row.token_hash.toString('hex') });
      if (rows.length < TRANSFER_BATCH) break;
      afterId = rows.at(-1)!.id;
    }
    let afterName = '';
    for (;;) {
      const { rows } = await this.pool.query<PgUserRow>(
        'SELECT * FROM users WHERE name > $1 ORDER BY name LIMIT $2',
        [afterName, TRANSFER_BATCH],
      );
      for (const row of rows) {
        const grants = await this.pool.query<Parameters<typeof toGrant>[0]>(
          'SELECT * FROM user_grants WHERE user_name = $1 ORDER BY device_id',
          [row.name],
        );
        await each({
          kind: 'user',
          user: toUser(row),
          passwordHash: row.password_hash,
          grants: grants.rows.map(toGrant),
        });
      }
      if (rows.length < TRANSFER_BATCH) break;
      afterName = rows.at(-1)!.name;
    }
    let afterNum = 0;
    for (;;) {
      const { rows } = await this.pool.query<SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE id > $1 ORDER BY id LIMIT $2`,
        [afterNum, TRANSFER_BATCH],
      );
      for (const row of rows) await each({ kind: 'segment', segment: toSegment(row) });
      if (rows.length < TRANSFER_BATCH) break;
      afterNum = rows.at(-1)!.id;
    }
    afterNum = 0;
    for (;;) {
      const { rows } = await this.pool.query<GapRow>(
        `SELECT ${GAP_COLUMNS} FROM recording_gaps WHERE id > $1 ORDER BY id LIMIT $2`,
        [afterNum, TRANSFER_BATCH],
      );
      for (const row of rows) await each({ kind: 'gap', gap: toGap(row) });
      if (rows.length < TRANSFER_BATCH) break;
      afterNum = rows.at(-1)!.id;
    }
  }

  async importRows(rows: AsyncIterable<TransferRow>, progress?: (count: number) => void): Promise<number> {
    const { rows: used } = await this.pool.query<{ n: number }>(
      `SELECT ((SELECT COUNT(*) FROM devices) + (SELECT COUNT(*) FROM api_tokens) + (SELECT COUNT(*) FROM users)
             + (SELECT COUNT(*) FROM segments) + (SELECT COUNT(*) FROM recording_gaps))::bigint AS n`,
    );
    if (used[0]!.n > 0) throw registryNotEmpty(used[0]!.n);
    let count = 0;
    for await (const batch of inBatches(rows)) {
      await this.pool.transaction(async (client) => {
        for (const row of batch) {
          if (row.kind === 'device') {
            const d = row.device;
            await client.query(
              `INSERT INTO devices (${PG_DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
              [
                d.id,
                d.name,
                Buffer.from(row.secretHash, 'hex'),
                d.secretGeneration,
                d.createdAt,
                d.lastSeenAt,
                d.online,
                d.revokedAt,
                d.recording.mode,
                d.recording.active,
                d.recording.maxAgeHours,
              ],
            );
          } else if (row.kind === 'token') {
            const t = row.token;
            await client.query(
              `INSERT INTO api_tokens (id, name, token_hash, created_at, last_used_at, revoked_at, user_name, cameras, read_only)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
              [
                t.id,
                t.name,
                Buffer.from(row.tokenHash, 'hex'),
                t.createdAt,
                t.lastUsedAt,
                t.revokedAt,
                t.user,
                t.cameras === null ? null : JSON.stringify(t.cameras),
                t.readOnly,
              ],
            );
          } else if (row.kind === 'user') {
            const u = row.user;
            await client.query(
              `INSERT INTO users (name, role, password_hash, password_generation, created_at)
               VALUES ($1, $2, $3, $4, $5)`,
              [u.name, u.role, row.passwordHash, u.passwordGeneration, u.createdAt],
            );
            for (const g of row.grants) {
              await client.query(
                'INSERT INTO user_grants (user_name, device_id, live, recordings) VALUES ($1, $2, $3, $4)',
                [u.name, g.camera, g.live, g.recordings],
              );
            }
          } else if (row.kind === 'segment') {
            const s = row.segment;
            await client.query(
              `INSERT INTO segments (${SEGMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
              [
                s.id,
                s.deviceId,
                s.startMs,
                s.endMs,
                s.durationMs,
                s.bytes,
                s.videoCodec,
                s.audioCodec,
                s.path,
                s.state,
                s.node,
              ],
            );
          } else {
            const g = row.gap;
            await client.query(
              `INSERT INTO recording_gaps (${GAP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
              [g.id, g.deviceId, g.startMs, g.endMs, g.reason, g.node],
            );
          }
        }
      });
      count += batch.length;
      progress?.(count);
    }
    // Rows inserted with their own ids: the sequences continue after the largest.
    for (const table of ['segments', 'recording_gaps']) {
      await this.pool.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT MAX(id) FROM ${table}), 1),
                (SELECT MAX(id) FROM ${table}) IS NOT NULL)`,
      );
    }
    return count;
  }
}
