import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import { DEVICE_ID_PATTERN } from './device-id.js';
import type { TransferRow } from './stores.js';
import { RECORD_MODES } from './types.js';

/**
 * The file of `lookout db export` and `db import`: NDJSON, one JSON object per line. First a
 * header (format, version, the fingerprint of the key the hashes were made with), then one line
 * per row (devices, tokens, segments, gaps), last a trailer with the row count, so a truncated
 * file is refused. Every line is validated before anything is written.
 */
export const TRANSFER_FORMAT = 'lookout-registry';
export const TRANSFER_VERSION = 1;
/** No line of ours comes near this; a longer one is not a Lookout export. */
const MAX_LINE = 64 * 1024;

export interface TransferHeader {
  format: typeof TRANSFER_FORMAT;
  version: number;
  keyFingerprint: string;
  source: 'sqlite' | 'postgres';
  exportedAt: string;
}

const ms = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex = z.string().regex(/^[0-9a-f]{2,256}$/);
const text = (max: number) => z.string().max(max);

const header = z
  .object({
    format: z.literal(TRANSFER_FORMAT),
    version: z.literal(TRANSFER_VERSION),
    keyFingerprint: z.string().regex(/^[0-9a-f]{32}$/),
    source: z.enum(['sqlite', 'postgres']),
    exportedAt: z.string().max(40),
  })
  .strict();

const device = z
  .object({
    id: z.string().regex(DEVICE_ID_PATTERN),
    name: text(200),
    createdAt: ms,
    lastSeenAt: ms.nullable(),
    online: z.boolean(),
    revokedAt: ms.nullable(),
    secretGeneration: z.number().int().min(1),
    recording: z
      .object({
        mode: z.enum(RECORD_MODES as [string, ...string[]]),
        active: z.boolean(),
        maxAgeHours: z.number().int().min(1).max(87_600).nullable(),
      })
      .strict(),
  })
  .strict();

const token = z
  .object({
    id: text(64),
    name: text(200),
    createdAt: ms,
    lastUsedAt: ms.nullable(),
    revokedAt: ms.nullable(),
    // Exports made before users (D34) have no scope: admin tokens, as they were.
    user: text(64).nullable().default(null),
    cameras: z.array(text(64)).max(256).nullable().default(null),
    readOnly: z.boolean().default(false),
  })
  .strict();

const grant = z
  .object({ user: text(64), camera: text(64), live: z.boolean(), recordings: z.boolean() })
  .strict();

const user = z
  .object({
    name: text(64),
    role: z.enum(['admin', 'viewer']),
    createdAt: ms,
    passwordGeneration: z.number().int().min(1),
  })
  .strict();

const segment = z
  .object({
    id: z.number().int().min(1),
    deviceId: text(64),
    startMs: ms,
    endMs: ms.nullable(),
    durationMs: ms.nullable(),
    bytes: ms,
    videoCodec: text(32).nullable(),
    audioCodec: text(32).nullable(),
    path: text(1024),
    state: z.enum(['writing', 'complete', 'missing']),
    // The node holding the file (D40); files written before it was exported have none.
    node: z.string().max(64).default(''),
  })
  .strict();

const gap = z
  .object({
    id: z.number().int().min(1),
    deviceId: text(64),
    startMs: ms,
    endMs: ms.nullable(),
    reason: z.enum([
      'camera-offline',
      'recorder-fault',
      'disk-full',
      'media-worker-died',
      'server-stopped',
      'server-down',
    ]),
    node: z.string().max(64).default(''),
  })
  .strict();

const row = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('device'), device, secretHash: hex }).strict(),
  z.object({ kind: z.literal('token'), token, tokenHash: hex }).strict(),
  z
    .object({ kind: z.literal('user'), user, passwordHash: text(512), grants: z.array(grant).max(100_000) })
    .strict(),
  z.object({ kind: z.literal('segment'), segment }).strict(),
  z.object({ kind: z.literal('gap'), gap }).strict(),
]);

const trailer = z.object({ kind: z.literal('end'), rows: z.number().int().min(0) }).strict();

export function headerLine(h: TransferHeader): string {
  return `${JSON.stringify(h)}\n`;
}

export function rowLine(r: TransferRow): string {
  return `${JSON.stringify(r)}\n`;
}

export function trailerLine(rows: number): string {
  return `${JSON.stringify({ kind: 'end', rows })}\n`;
}

function invalid(file: string, line: number, why: string): LookoutError {
  return new LookoutError('EXPORT_INVALID', `${file}:${line}: ${why}`, { file, line });
}

function parse(file: string, n: number, textLine: string): unknown {
  if (textLine.length > MAX_LINE) throw invalid(file, n, 'line too long');
  try {
    return JSON.parse(textLine);
  } catch {
    throw invalid(file, n, 'not JSON');
  }
}

/**
 * Reads an export: its header first (resolved before any row is read), then its rows as an
 * async iterable that rejects on the first invalid line and, at the end, unless the trailer
 * is there and counts the rows read (EXPORT_INVALID).
 */
export async function readTransferFile(
  file: string,
): Promise<{ header: TransferHeader; rows: AsyncIterable<TransferRow> }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
  const first = await lines.next();
  if (first.done) throw invalid(file, 1, 'empty file');
  const parsedHeader = header.safeParse(parse(file, 1, first.value));
  if (!parsedHeader.success) throw invalid(file, 1, 'not a Lookout registry export (bad header)');
  async function* rows(): AsyncGenerator<TransferRow> {
    let n = 1;
    let count = 0;
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      n++;
      const value = parse(file, n, next.value);
      const end = trailer.safeParse(value);
      if (end.success) {
        if (end.data.rows !== count)
          throw invalid(file, n, `the trailer counts ${end.data.rows} rows, read ${count}`);
        const after = await lines.next();
        if (!after.done) throw invalid(file, n + 1, 'data after the trailer');
        return;
      }
      const parsed = row.safeParse(value);
      if (!parsed.success)
        throw invalid(file, n, `invalid row: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
      count++;
      yield parsed.data as TransferRow;
    }
    throw invalid(file, n, 'truncated: no trailer line');
  }
  return { header: parsedHeader.data as TransferHeader, rows: rows() };
}
