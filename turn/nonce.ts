import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Stateless nonces (RFC 8489 §9.2): `<expiry seconds, hex><HMAC tag>`, keyed by a random
 * per-process key and bound to the client's IP, so the server stores nothing per client and
 * a nonce seen on one address is useless from another. An expired nonce gets 438.
 */
export class NonceIssuer {
  readonly #key = randomBytes(16);

  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number,
  ) {}

  issue(clientIp: string): string {
    const expiry = Math.floor((this.now() + this.lifetimeMs) / 1000).toString(16);
    return expiry + this.#tag(expiry, clientIp);
  }

  /** `valid`, `stale` (ours but expired: 438) or `invalid` (not ours). */
  check(nonce: string, clientIp: string): 'valid' | 'stale' | 'invalid' {
    const match = /^([0-9a-f]{1,12})([0-9a-f]{32})$/.exec(nonce);
    if (!match) return 'invalid';
    const expected = Buffer.from(this.#tag(match[1]!, clientIp));
    if (!timingSafeEqual(expected, Buffer.from(match[2]!))) return 'invalid';
    return Number.parseInt(match[1]!, 16) * 1000 > this.now() ? 'valid' : 'stale';
  }

  #tag(expiry: string, clientIp: string): string {
    return createHmac('sha256', this.#key).update(`${expiry}|${clientIp}`).digest('hex').slice(0, 32);
  }
}
