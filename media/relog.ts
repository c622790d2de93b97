import pino from 'pino';
import type { Logger } from '../core/log.js';

/** Fields of a pino record that the logger writing it again sets itself. */
const OWN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/**
 * Writes one log record of a media worker (pino's JSON object, sent over the boundary) through
 * this process's logger, which adds its own bindings (`component`, `worker`): a worker's lines
 * look like every other line and go where the server's log goes.
 */
export function relog(log: Logger, record: Record<string, unknown>): void {
  const label = pino.levels.labels[Number(record.level)] ?? 'info';
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!OWN_FIELDS.has(key)) fields[key] = value;
  const write = (log as unknown as Record<string, (obj: object, msg?: string) => void>)[label];
  if (typeof write !== 'function') return;
  write.call(log, fields, typeof record.msg === 'string' ? record.msg : undefined);
}
