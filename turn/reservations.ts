import { randomBytes } from 'node:crypto';
import type { RelaySocket } from './allocation.js';

/** RFC 8656 §7.2: a reserved port is held for about 30 seconds. */
const RESERVATION_MS = 30_000;

/**
 * Relay sockets reserved by an Allocate with EVEN-PORT's R bit (the port after an even
 * one, for RTCP), each under an 8-byte RESERVATION-TOKEN that a later Allocate claims.
 */
export class Reservations {
  readonly #byToken = new Map<string, { relay: RelaySocket; expiresAt: number }>();

  constructor(private readonly now: () => number) {}

  /** Holds `relay` and returns its token. */
  add(relay: RelaySocket): Buffer {
    const token = randomBytes(8);
    this.#byToken.set(token.toString('hex'), { relay, expiresAt: this.now() + RESERVATION_MS });
    return token;
  }

  /** The reserved socket for `token`, handed over once; undefined when unknown or expired. */
  take(token: Buffer): RelaySocket | undefined {
    const key = token.toString('hex');
    const entry = this.#byToken.get(key);
    if (!entry) return undefined;
    this.#byToken.delete(key);
    if (this.now() < entry.expiresAt) return entry.relay;
    entry.relay.close();
    return undefined;
  }

  /** Closes reservations nobody claimed in time. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.#byToken) {
      if (now >= entry.expiresAt) {
        this.#byToken.delete(key);
        entry.relay.close();
      }
    }
  }

  closeAll(): void {
    for (const entry of this.#byToken.values()) entry.relay.close();
    this.#byToken.clear();
  }

  get size(): number {
    return this.#byToken.size;
  }
}
