/**
 * Back-off for repeated failed logins, pure and clock-injected. Failures count per
 * (address, username) first, so one misconfigured camera behind a carrier-grade NAT does
 * not lock out the hundreds of cameras sharing its address. A looser per-address limit
 * stops one host walking through usernames; toward it each username counts at most its
 * own free failures (one broken camera retrying for hours is still only `maxFailures`),
 * and a username that has logged in from the address before is never held back by it,
 * only by its own pair limit. Past the free failures each further one doubles the
 * refusal period, up to a ceiling. Memory is bounded.
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

  /** Records a failure; returns the key's failure count in the current window. */
  fail(key: string, now: number): number {
    if (this.freeFailures === 0) return 0;
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
    return entry.failures;
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
  /** Pairs that logged in successfully, least recent first; exempt from the address limit. */
  readonly #known = new Set<string>();
  readonly #maxFailures: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: BackoffOptions, now: () => number = Date.now) {
    const full = { maxEntries: 10_000, ...options };
    this.#pairs = new FailureTable(options.maxFailures, full);
    this.#addresses = new FailureTable(options.maxAddressFailures, full);
    this.#maxFailures = options.maxFailures;
    this.#maxEntries = full.maxEntries;
    this.#now = now;
  }

  check(address: string, username: string): BackoffDecision {
    const now = this.#now();
    const key = pairKey(address, username);
    const wait = Math.max(
      this.#pairs.blockedFor(key, now),
      this.#known.has(key) ? 0 : this.#addresses.blockedFor(address, now),
    );
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  recordFailure(address: string, username: string): void {
    const now = this.#now();
    const pairFailures = this.#pairs.fail(pairKey(address, username), now);
    // One username's failures beyond its own free ones are its own problem (its pair is
    // backed off); counting them against the address would let one broken camera lock
    // out every camera behind the same NAT.
    if (this.#maxFailures === 0 || pairFailures <= this.#maxFailures) this.#addresses.fail(address, now);
  }

  /** A good login forgets that pair's failures (not the address's) and remembers the pair as known. */
  recordSuccess(address: string, username: string): void {
    const key = pairKey(address, username);
    this.#pairs.clear(key);
    this.#known.delete(key);
    this.#known.add(key);
    if (this.#known.size > this.#maxEntries) this.#known.delete(this.#known.values().next().value!);
  }

  /** Remembered keys, for tests and metrics. */
  get size(): { pairs: number; addresses: number; known: number } {
    return { pairs: this.#pairs.size, addresses: this.#addresses.size, known: this.#known.size };
  }
}

function pairKey(address: string, username: string): string {
  return `${address}\u0000${username}`;
}
