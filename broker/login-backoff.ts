/**
 * Back-off for repeated failed logins, pure and clock-injected. Failures count per
 * (address, username) so one misconfigured camera behind a carrier-grade NAT does not
 * lock out the hundreds of cameras sharing its address, and, with a looser limit, per
 * address so one host cannot walk through usernames. Past the free failures each
 * further one doubles the refusal period, up to a ceiling. Memory is bounded.
 */

export interface BackoffOptions {
  maxFailures: number;
  maxAddressFailures: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Most remembered keys per table; the oldest are forgotten first. */
  maxEntries?: number;
}

export type BackoffDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

class FailureTable {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly freeFailures: number,
    private readonly options: Required<BackoffOptions>,
  ) {}

  blockedFor(key: string, now: number): number {
    if (this.freeFailures === 0) return 0;
    const entry = this.#live(key, now);
    return entry && entry.blockedUntil > now ? entry.blockedUntil - now : 0;
  }

  fail(key: string, now: number): void {
    if (this.freeFailures === 0) return;
    const entry = this.#live(key, now) ?? { failures: 0, lastFailureAt: now, blockedUntil: 0 };
    entry.failures++;
    entry.lastFailureAt = now;
    const over = entry.failures - this.freeFailures;
    if (over > 0) {
      const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30));
      entry.blockedUntil = now + delay;
    }
    // Re-insert so Map order is least-recently-failed first, then evict from the front.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.options.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  clear(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && now - entry.lastFailureAt > this.options.windowMs && entry.blockedUntil <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

export class LoginBackoff {
  readonly #pairs: FailureTable;
  readonly #addresses: FailureTable;
  readonly #now: () => number;

  constructor(options: BackoffOptions, now: () => number = Date.now) {
    const full = { maxEntries: 10_000, ...options };
    this.#pairs = new FailureTable(options.maxFailures, full);
    this.#addresses = new FailureTable(options.maxAddressFailures, full);
    this.#now = now;
  }

  check(address: string, username: string): BackoffDecision {
    const now = this.#now();
    const wait = Math.max(
      this.#pairs.blockedFor(pairKey(address, username), now),
      this.#addresses.blockedFor(address, now),
    );
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  recordFailure(address: string, username: string): void {
    const now = this.#now();
    this.#pairs.fail(pairKey(address, username), now);
    this.#addresses.fail(address, now);
  }

  /** A good login forgets that pair's failures (not the address's). */
  recordSuccess(address: string, username: string): void {
    this.#pairs.clear(pairKey(address, username));
  }

  /** Remembered keys, for tests and metrics. */
  get size(): { pairs: number; addresses: number } {
    return { pairs: this.#pairs.size, addresses: this.#addresses.size };
  }
}

function pairKey(address: string, username: string): string {
  return `${address}\u0000${username}`;
}
