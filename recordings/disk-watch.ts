import { statfsSync } from 'node:fs';
import { type DiskPolicy, DiskSpace } from './disk-space.js';

/**
 * A recorder's eye on its disk: measures free space under `dir` on a timer (every
 * `checkMs` while there is room, with back-off while there is not) and calls `full` or
 * `recovered` as disk-space.ts decides. Owns its timer; close() stops it.
 */
export class DiskWatch {
  readonly #space: DiskSpace;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly dir: string,
    policy: DiskPolicy,
    private readonly on: { full(detail: string): void; recovered(freeBytes: number): void },
  ) {
    this.#space = new DiskSpace(policy);
  }

  /** Looks now, then on the timer. */
  start(): void {
    this.#check();
  }

  /**
   * A write failed, or ffmpeg did: true when the disk is (now known to be) full, in which
   * case the caller pauses recording itself (`full` is not called).
   */
  failed(diskFullError: boolean): boolean {
    if (diskFullError) {
      this.#space.writeFailed();
      return true;
    }
    const event = this.#space.observe(this.#freeBytes());
    return event === 'became-full' || event === 'still-full';
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #check(): void {
    if (this.#closed) return;
    const free = this.#freeBytes();
    const event = this.#space.observe(free);
    if (event === 'became-full') this.on.full(`${free} bytes free`);
    if (event === 'recovered') this.on.recovered(free!);
    this.#timer = setTimeout(() => this.#check(), this.#space.nextCheckMs());
    this.#timer.unref();
  }

  #freeBytes(): number | undefined {
    try {
      const stats = statfsSync(this.dir);
      return stats.bavail * stats.bsize;
    } catch {
      return undefined;
    }
  }
}
