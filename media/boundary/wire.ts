import { LookoutError } from '../../core/errors.js';

/** An error as it crosses the boundary: its code (INTERNAL for one without) and message. */
export function errorForWire(err: unknown): { code: string; message: string } {
  if (err instanceof LookoutError) return { code: err.code, message: err.message };
  return { code: 'MEDIA_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
