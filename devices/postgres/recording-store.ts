import { GAP_COLUMNS, type GapRow, SEGMENT_COLUMNS, type SegmentRow, toGap, toSegment } from '../rows.js';
import type { RecordingStore } from '../stores.js';
import type { Gap, GapReason, Segment, SegmentState } from '../types.js';
import type { PgPool } from './pool.js';

/** An open segment or gap ends "never" for overlap queries. */
const NEVER = 9_000_000_000_000_000;

/** The recordings index in PostgreSQL: segments and gaps. All SQL for those tables lives here. */
export class PgRecordingStore implements RecordingStore {
  constructor(private readonly pool: PgPool) {}

  async open(segment: {
    deviceId: string;
    node: string;
    startMs: number;
    path: string;
    videoCodec: string | null;
    audioCodec: string | null;
  }): Promise<number> {
    return this.#insert({ ...segment, endMs: null, durationMs: null, bytes: 0, state: 'writing' });
  }

  async insertComplete(segment: Omit<Segment, 'id' | 'state'>): Promise<number> {
    return this.#insert({ ...segment, state: 'complete' });
  }

  async finish(id: number, result: { endMs: number; durationMs: number; bytes: number }): Promise<void> {
    await this.pool.query(
      `UPDATE segments SET end_ms = $2, duration_ms = $3, bytes = $4, state = 'complete' WHERE id = $1`,
      [id, result.endMs, result.durationMs, result.bytes],
    );
  }

  async markMissing(id: number): Promise<void> {
    await this.pool.query(`UPDATE segments SET state = 'missing', bytes = 0 WHERE id = $1`, [id]);
  }

  async get(id: number): Promise<Segment | undefined> {
    return (await this.#segments('WHERE id = $1', [id]))[0];
  }

  async byPath(node: string, path: string): Promise<Segment | undefined> {
    return (await this.#segments('WHERE node_id = $1 AND path = $2', [node, path]))[0];
  }

  async between(deviceId: string, fromMs: number, toMs: number): Promise<Segment[]> {
    return this.#segments(
      'WHERE device_id = $1 AND start_ms < $2 AND COALESCE(end_ms, $4) > $3 ORDER BY start_ms, id',
      [deviceId, toMs, fromMs, NEVER],
    );
  }

  async inState(state: SegmentState, node: string): Promise<Segment[]> {
    return this.#segments('WHERE state = $1 AND node_id = $2 ORDER BY id', [state, node]);
  }

  async all(): Promise<Segment[]> {
    return this.#segments('ORDER BY id', []);
  }

  async expired(deviceId: string, beforeMs: number, node: string): Promise<Segment[]> {
    return this.#segments(
      `WHERE device_id = $1 AND state != 'writing' AND COALESCE(end_ms, start_ms) < $2 AND node_id = $3
       ORDER BY start_ms, id`,
      [deviceId, beforeMs, node],
    );
  }

  async oldest(limit: number, node: string): Promise<Segment[]> {
    return this.#segments(`WHERE state != 'writing' AND node_id = $2 ORDER BY start_ms, id LIMIT $1`, [
      limit,
      node,
    ]);
  }

  async totalBytes(node: string): Promise<number> {
    const { rows } = await this.pool.query<{ total: number }>(
      'SELECT COALESCE(SUM(bytes), 0)::bigint AS total FROM segments WHERE node_id = $1',
      [node],
    );
    return rows[0]!.total;
  }

  async delete(id: number): Promise<void> {
    await this.pool.query('DELETE FROM segments WHERE id = $1', [id]);
  }

  async devices(): Promise<string[]> {
    const { rows } = await this.pool.query<{ device_id: string }>(
      'SELECT device_id FROM segments UNION SELECT device_id FROM recording_gaps',
    );
    return rows.map((row) => row.device_id);
  }

  async lastEnd(deviceId: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ last: number | null }>(
      'SELECT MAX(COALESCE(end_ms, start_ms)) AS last FROM segments WHERE device_id = $1',
      [deviceId],
    );
    return rows[0]!.last;
  }

  async openGap(deviceId: string, startMs: number, reason: GapReason, node: string): Promise<number> {
    const { rows } = await this.pool.query<{ id: number }>(
      `INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason, node_id) VALUES ($1, $2, NULL, $3, $4)
       RETURNING id`,
      [deviceId, startMs, reason, node],
    );
    return rows[0]!.id;
  }

  async insertGap(
    deviceId: string,
    startMs: number,
    endMs: number,
    reason: GapReason,
    node: string,
  ): Promise<void> {
    await this.pool.query(
      'INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason, node_id) VALUES ($1, $2, $3, $4, $5)',
      [deviceId, startMs, endMs, reason, node],
    );
  }

  async closeGap(id: number, endMs: number): Promise<void> {
    await this.pool.query(
      'UPDATE recording_gaps SET end_ms = GREATEST(start_ms, $1) WHERE id = $2 AND end_ms IS NULL',
      [endMs, id],
    );
  }

  async openGaps(node: string): Promise<Gap[]> {
    return this.#gaps('WHERE end_ms IS NULL AND node_id = $1 ORDER BY id', [node]);
  }

  async gapsBetween(deviceId: string, fromMs: number, toMs: number): Promise<Gap[]> {
    return this.#gaps(
      'WHERE device_id = $1 AND start_ms < $2 AND COALESCE(end_ms, $4) > $3 ORDER BY start_ms, id',
      [deviceId, toMs, fromMs, NEVER],
    );
  }

  async pruneGaps(deviceId: string, beforeMs: number): Promise<void> {
    await this.pool.query(
      'DELETE FROM recording_gaps WHERE device_id = $1 AND end_ms IS NOT NULL AND end_ms < $2',
      [deviceId, beforeMs],
    );
  }

  async #insert(s: Omit<Segment, 'id'>): Promise<number> {
    const { rows } = await this.pool.query<{ id: number }>(
      `INSERT INTO segments (device_id, start_ms, end_ms, duration_ms, bytes, video_codec, audio_codec, path, state, node_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [
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
    return rows[0]!.id;
  }

  async #segments(where: string, values: unknown[]): Promise<Segment[]> {
    const { rows } = await this.pool.query<SegmentRow>(
      `SELECT ${SEGMENT_COLUMNS} FROM segments ${where}`,
      values,
    );
    return rows.map(toSegment);
  }

  async #gaps(where: string, values: unknown[]): Promise<Gap[]> {
    const { rows } = await this.pool.query<GapRow>(
      `SELECT ${GAP_COLUMNS} FROM recording_gaps ${where}`,
      values,
    );
    return rows.map(toGap);
  }
}
