import { LookoutError } from '../core/errors.js';

/** Fewest ports a worker's slice may hold (a camera session and a few viewers). */
export const MIN_PORTS_PER_WORKER = 4;

/**
 * Splits `media.icePortMin..icePortMax` into one contiguous slice per worker (Node 20 has no
 * UDP reusePort, so two processes must never try the same port). Earlier slices take the
 * remainder, one port each.
 */
export function portSlices(range: [number, number], workers: number): Array<[number, number]> {
  const [min, max] = range;
  const total = max - min + 1;
  if (total < workers * MIN_PORTS_PER_WORKER) {
    throw new LookoutError(
      'MEDIA_PORTS_TOO_FEW',
      `media.icePortMin..icePortMax holds ${total} ports: ${workers} media workers need at least ${
        workers * MIN_PORTS_PER_WORKER
      } (widen the range or lower media.workers)`,
    );
  }
  const slices: Array<[number, number]> = [];
  let start = min;
  for (let i = 0; i < workers; i++) {
    const size = Math.floor(total / workers) + (i < total % workers ? 1 : 0);
    slices.push([start, start + size - 1]);
    start += size;
  }
  return slices;
}
