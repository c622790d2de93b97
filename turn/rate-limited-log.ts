import type { Logger } from '../core/log.js';

/**
 * Warnings a flood could trigger (malformed packets, refused peers, quota hits): at most one
 * line per key per interval, reporting how many were suppressed since the last one.
 */
export class RateLimitedLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    if (this.#last.size >= 1000) this.#last.clear(); // bounded: a flood of distinct keys forgets
    this.#last.set(key, { at: now, suppressed: 0 });
    this.log.warn({ ...fields, ...(entry?.suppressed ? { suppressed: entry.suppressed } : {}) }, message);
  }
}
