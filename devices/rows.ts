import type { Gap, GapReason, Segment, SegmentState, Session } from './types.js';

/**
 * Rows the SQLite and PostgreSQL stores read alike (the same columns, the same types), and how
 * each becomes the store's value. Both implementations import them from here.
 */
export interface SegmentRow {
  id: number;
  device_id: string;
  start_ms: number;
  end_ms: number | null;
  duration_ms: number | null;
  bytes: number;
  video_codec: string | null;
  audio_codec: string | null;
  path: string;
  state: SegmentState;
  node_id: string;
}

export interface GapRow {
  id: number;
  device_id: string;
  start_ms: number;
  end_ms: number | null;
  reason: GapReason;
  node_id: string;
}

export interface SessionRow {
  id: string;
  user_name: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export const SEGMENT_COLUMNS =
  'id, device_id, start_ms, end_ms, duration_ms, bytes, video_codec, audio_codec, path, state, node_id';
export const GAP_COLUMNS = 'id, device_id, start_ms, end_ms, reason, node_id';
export const SESSION_COLUMNS = 'id, user_name, created_at, last_seen_at, expires_at';

export function toSegment(row: SegmentRow): Segment {
  return {
    id: row.id,
    deviceId: row.device_id,
    startMs: row.start_ms,
    endMs: row.end_ms,
    durationMs: row.duration_ms,
    bytes: row.bytes,
    videoCodec: row.video_codec,
    audioCodec: row.audio_codec,
    path: row.path,
    state: row.state,
    node: row.node_id,
  };
}

export function toGap(row: GapRow): Gap {
  return {
    id: row.id,
    deviceId: row.device_id,
    startMs: row.start_ms,
    endMs: row.end_ms,
    reason: row.reason,
    node: row.node_id,
  };
}

export const toSession = (row: SessionRow): Session => ({
  id: row.id,
  user: row.user_name,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
});
