import type { Logger } from './log.js';

/** Lines of one message (kind) per interval, whatever their keys. */
const LINES_PER_KIND = 20;

/**
 * Warnings a flood could trigger (malformed packets, refused peers, quota hits): at most one
 * line per key per interval, reporting how many were suppressed since the last one. Keys
 * are per source (`malformed:<ip>`), so a flood from many addresses would still log a line
 * for each: each message (kind) is also held to `linesPerKind` lines per interval in all,
 * and the next line of that kind after the interval is preceded by one line counting what
 * that cap suppressed.
 */
export class RateLimitedLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  readonly #kinds = new Map<string, { since: number; lines: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly intervalMs = 10_000,
    private readonly linesPerKind = LINES_PER_KIND,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    if (!this.#kindAllows(message, now)) return;
    if (this.#last.size >= 1000) this.#last.clear(); // bounded: a flood of distinct keys forgets
    this.#last.set(key, { at: now, suppressed: 0 });
    this.log.warn({ ...fields, ...(entry?.suppressed ? { suppressed: entry.suppressed } : {}) }, message);
  }

  /** Counts a line of `message` against its kind's cap; false when the cap suppresses it. */
  #kindAllows(message: string, now: number): boolean {
    let kind = this.#kinds.get(message);
    if (!kind || now - kind.since >= this.intervalMs) {
      if (kind?.suppressed) {
        const seconds = Math.round(this.intervalMs / 1000);
        this.log.warn(
          { suppressed: kind.suppressed, intervalSeconds: seconds },
          `${message}: ${kind.suppressed} more suppressed (over ${this.linesPerKind} lines in ${seconds} s)`,
        );
      }
      kind = { since: now, lines: 0, suppressed: 0 };
      this.#kinds.set(message, kind); // bounded: messages are constants of the code
    }
    if (kind.lines >= this.linesPerKind) {
      kind.suppressed++;
      return false;
    }
    kind.lines++;
    return true;
  }
}
