import { GAP_COLUMNS, type GapRow, SEGMENT_COLUMNS, type SegmentRow, toGap, toSegment } from '../rows.js';
import type { RecordingStore } from '../stores.js';
import type { Gap, GapReason, Segment, SegmentState } from '../types.js';
import type { Db } from './db.js';

/** The recordings index in SQLite: segments and gaps. All SQL for those tables lives here. */
export class SqliteRecordingStore implements RecordingStore {
  readonly #stmt;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#stmt = {
      insert: db.prepare(
        `INSERT INTO segments (device_id, start_ms, end_ms, duration_ms, bytes, video_codec, audio_codec, path, state, node_id)
         VALUES (@deviceId, @startMs, @endMs, @durationMs, @bytes, @videoCodec, @audioCodec, @path, @state, @node)`,
      ),
      finish: db.prepare(
        `UPDATE segments SET end_ms = @endMs, duration_ms = @durationMs, bytes = @bytes, state = 'complete'
         WHERE id = @id`,
      ),
      missing: db.prepare(`UPDATE segments SET state = 'missing', bytes = 0 WHERE id = ?`),
      byId: db.prepare<[number], SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE id = ?`),
      byPath: db.prepare<[string, string], SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE node_id = ? AND path = ?`,
      ),
      between: db.prepare<[string, number, number], SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments
         WHERE device_id = ? AND start_ms < ? AND COALESCE(end_ms, 9e15) > ? ORDER BY start_ms, id`,
      ),
      inState: db.prepare<[SegmentState, string], SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE state = ? AND node_id = ? ORDER BY id`,
      ),
      all: db.prepare<[], SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments ORDER BY id`),
      expired: db.prepare<[string, number, string], SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments
         WHERE device_id = ? AND state != 'writing' AND COALESCE(end_ms, start_ms) < ? AND node_id = ?
         ORDER BY start_ms`,
      ),
      oldest: db.prepare<[string, number], SegmentRow>(
        `SELECT ${SEGMENT_COLUMNS} FROM segments WHERE state != 'writing' AND node_id = ? ORDER BY start_ms LIMIT ?`,
      ),
      totalBytes: db.prepare<[string], { total: number }>(
        'SELECT COALESCE(SUM(bytes), 0) AS total FROM segments WHERE node_id = ?',
      ),
      delete: db.prepare('DELETE FROM segments WHERE id = ?'),
      devices: db.prepare<[], { device_id: string }>(
        'SELECT DISTINCT device_id FROM segments UNION SELECT DISTINCT device_id FROM recording_gaps',
      ),
      openGap: db.prepare(
        'INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason, node_id) VALUES (?, ?, NULL, ?, ?)',
      ),
      insertGap: db.prepare(
        'INSERT INTO recording_gaps (device_id, start_ms, end_ms, reason, node_id) VALUES (?, ?, ?, ?, ?)',
      ),
      closeGap: db.prepare(
        'UPDATE recording_gaps SET end_ms = MAX(start_ms, ?) WHERE id = ? AND end_ms IS NULL',
      ),
      openGaps: db.prepare<[string], GapRow>(
        `SELECT ${GAP_COLUMNS} FROM recording_gaps WHERE end_ms IS NULL AND node_id = ? ORDER BY id`,
      ),
      gapsBetween: db.prepare<[string, number, number], GapRow>(
        `SELECT ${GAP_COLUMNS} FROM recording_gaps
         WHERE device_id = ? AND start_ms < ? AND COALESCE(end_ms, 9e15) > ? ORDER BY start_ms`,
      ),
      pruneGaps: db.prepare(
        'DELETE FROM recording_gaps WHERE device_id = ? AND end_ms IS NOT NULL AND end_ms < ?',
      ),
      lastEnd: db.prepare<[string], { last: number | null }>(
        'SELECT MAX(COALESCE(end_ms, start_ms)) AS last FROM segments WHERE device_id = ?',
      ),
    };
  }

  /** Indexes a segment ffmpeg has just opened. */
  async open(segment: {
    deviceId: string;
    node: string;
    startMs: number;
    path: string;
    videoCodec: string | null;
    audioCodec: string | null;
  }): Promise<number> {
    const info = this.#stmt.insert.run({
      ...segment,
      endMs: null,
      durationMs: null,
      bytes: 0,
      state: 'writing',
    });
    return Number(info.lastInsertRowid);
  }

  /** Indexes a finished file found on disk (startup recovery). */
  async insertComplete(segment: Omit<Segment, 'id' | 'state'>): Promise<number> {
    const info = this.#stmt.insert.run({ ...segment, state: 'complete' });
    return Number(info.lastInsertRowid);
  }

  async finish(id: number, result: { endMs: number; durationMs: number; bytes: number }): Promise<void> {
    this.#stmt.finish.run({ id, ...result });
  }

  async markMissing(id: number): Promise<void> {
    this.#stmt.missing.run(id);
  }

  async get(id: number): Promise<Segment | undefined> {
    const row = this.#stmt.byId.get(id);
    return row && toSegment(row);
  }

  async byPath(node: string, path: string): Promise<Segment | undefined> {
    const row = this.#stmt.byPath.get(node, path);
    return row && toSegment(row);
  }

  /** Segments of a device overlapping [fromMs, toMs), oldest first. */
  async between(deviceId: string, fromMs: number, toMs: number): Promise<Segment[]> {
    return this.#stmt.between.all(deviceId, toMs, fromMs).map(toSegment);
  }

  async inState(state: SegmentState, node: string): Promise<Segment[]> {
    return this.#stmt.inState.all(state, node).map(toSegment);
  }

  async all(): Promise<Segment[]> {
    return this.#stmt.all.all().map(toSegment);
  }

  async expired(deviceId: string, beforeMs: number, node: string): Promise<Segment[]> {
    return this.#stmt.expired.all(deviceId, beforeMs, node).map(toSegment);
  }

  async oldest(limit: number, node: string): Promise<Segment[]> {
    return this.#stmt.oldest.all(node, limit).map(toSegment);
  }

  async totalBytes(node: string): Promise<number> {
    return this.#stmt.totalBytes.get(node)!.total;
  }

  async delete(id: number): Promise<void> {
    this.#stmt.delete.run(id);
  }

  /** Every device that has segments or gaps. */
  async devices(): Promise<string[]> {
    return this.#stmt.devices.all().map((row) => row.device_id);
  }

  async lastEnd(deviceId: string): Promise<number | null> {
    return this.#stmt.lastEnd.get(deviceId)!.last;
  }

  async openGap(deviceId: string, startMs: number, reason: GapReason, node: string): Promise<number> {
    return Number(this.#stmt.openGap.run(deviceId, startMs, reason, node).lastInsertRowid);
  }

  async insertGap(
    deviceId: string,
    startMs: number,
    endMs: number,
    reason: GapReason,
    node: string,
  ): Promise<void> {
    this.#stmt.insertGap.run(deviceId, startMs, endMs, reason, node);
  }

  async closeGap(id: number, endMs: number): Promise<void> {
    this.#stmt.closeGap.run(endMs, id);
  }

  async openGaps(node: string): Promise<Gap[]> {
    return this.#stmt.openGaps.all(node).map(toGap);
  }

  async gapsBetween(deviceId: string, fromMs: number, toMs: number): Promise<Gap[]> {
    return this.#stmt.gapsBetween.all(deviceId, toMs, fromMs).map(toGap);
  }

  async pruneGaps(deviceId: string, beforeMs: number): Promise<void> {
    this.#stmt.pruneGaps.run(deviceId, beforeMs);
  }

  /**
   * Names `node` as the holder of every row: a SQLite registry is one host's, so its files are on
   * this host whatever the host was called when they were recorded (D40). Run at open.
   */
  labelAll(node: string): void {
    this.#db.transaction(() => {
      // OR IGNORE: never refuse to open over two rows of one path (only a cluster makes those).
      this.#db.prepare('UPDATE OR IGNORE segments SET node_id = ? WHERE node_id != ?').run(node, node);
      this.#db.prepare('UPDATE recording_gaps SET node_id = ? WHERE node_id != ?').run(node, node);
    })();
  }
}
