/**
 * When a recorder's disk is too full to record, and when to look again: pure (free bytes and
 * time in, decisions out), so the policy is tested without filling a disk.
 *
 * Recording pauses when free space falls under `minFreeBytes` (or a write fails with ENOSPC)
 * and resumes once `resumeFreeBytes` (more, so it does not flap on the edge) are free. While
 * paused the disk is looked at with back-off, from `initialMs` doubling to `maxMs`.
 */

export interface DiskPolicy {
  minFreeBytes: number;
  resumeFreeBytes: number;
  /** How often free space is looked at while recording. */
  checkMs: number;
  backoff: { initialMs: number; maxMs: number };
}

export type DiskEvent = 'ok' | 'became-full' | 'still-full' | 'recovered';

export class DiskSpace {
  #full = false;
  #checksWhileFull = 0;

  constructor(private readonly policy: DiskPolicy) {}

  get full(): boolean {
    return this.#full;
  }

  /** A measurement of free bytes (undefined: could not be measured, which changes nothing). */
  observe(freeBytes: number | undefined): DiskEvent {
    if (!this.#full) {
      if (freeBytes !== undefined && freeBytes < this.policy.minFreeBytes) return this.#becomeFull();
      return 'ok';
    }
    if (freeBytes !== undefined && freeBytes >= this.policy.resumeFreeBytes) {
      this.#full = false;
      this.#checksWhileFull = 0;
      return 'recovered';
    }
    this.#checksWhileFull++;
    return 'still-full';
  }

  /** A write failed for want of space (ENOSPC from ffmpeg, SQLITE_FULL): full, whatever statfs said. */
  writeFailed(): DiskEvent {
    return this.#full ? 'still-full' : this.#becomeFull();
  }

  /** Milliseconds until free space should be looked at again. */
  nextCheckMs(): number {
    if (!this.#full) return this.policy.checkMs;
    const { initialMs, maxMs } = this.policy.backoff;
    return Math.min(maxMs, initialMs * 2 ** Math.min(this.#checksWhileFull, 30));
  }

  #becomeFull(): DiskEvent {
    this.#full = true;
    this.#checksWhileFull = 0;
    return 'became-full';
  }
}

/** Whether an error (from ffmpeg's stderr tail, fs or SQLite) means the disk is full. */
export function isDiskFullError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOSPC' || code === 'SQLITE_FULL' || code === 'DISK_FULL') return true;
  const message = typeof err === 'string' ? err : ((err as Error)?.message ?? '');
  return /No space left on device|ENOSPC|database or disk is full/i.test(message);
}
