/**
 * A token bucket (RFC 2697's idea without colours): `capacity` tokens, refilled at
 * `ratePerSecond`, one taken per event. Pure: the caller passes the time, so tests drive it
 * with a fake clock.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly capacity: number,
    readonly ratePerSecond: number,
    now: number,
  ) {
    this.#tokens = capacity;
    this.#at = now;
  }

  /** Takes one token if there is one at time `now` (ms); false means the event is over the limit. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds from `now` until a token is available (0 if one is). */
  msUntilToken(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return 0;
    if (this.ratePerSecond <= 0) return Number.POSITIVE_INFINITY;
    return Math.ceil(((1 - this.#tokens) * 1000) / this.ratePerSecond);
  }

  /** True when the bucket is full at `now`: an idle source, whose bucket can be forgotten. */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.capacity;
  }

  #refill(now: number): void {
    // A clock that steps back (never with performance.now(), possible with Date.now()) refills nothing.
    const elapsed = Math.max(0, now - this.#at);
    this.#at = Math.max(this.#at, now);
    this.#tokens = Math.min(this.capacity, this.#tokens + (elapsed * this.ratePerSecond) / 1000);
  }
}
