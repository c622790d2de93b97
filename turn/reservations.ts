import { randomBytes } from 'node:crypto';
import type { RelaySocket } from './allocation.js';

/** RFC 8656 §7.2: a reserved port is held for about 30 seconds. */
const RESERVATION_MS = 30_000;

interface Entry {
  relay: RelaySocket;
  deviceId: string;
  expiresAt: number;
}

/**
 * Relay sockets reserved by an Allocate with EVEN-PORT's R bit (the port after an even
 * one, for RTCP), each under an 8-byte RESERVATION-TOKEN that a later Allocate claims.
 * Each is counted against its device's quota until claimed or closed (`countFor`).
 */
export class Reservations {
  readonly #byToken = new Map<string, Entry>();
  readonly #perDevice = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Holds `relay` for `deviceId` and returns its token. */
  add(relay: RelaySocket, deviceId: string): Buffer {
    const token = randomBytes(8);
    this.#byToken.set(token.toString('hex'), { relay, deviceId, expiresAt: this.now() + RESERVATION_MS });
    this.#perDevice.set(deviceId, this.countFor(deviceId) + 1);
    return token;
  }

  /** Reserved sockets `deviceId` holds. */
  countFor(deviceId: string): number {
    return this.#perDevice.get(deviceId) ?? 0;
  }

  /** The reserved socket for `token`, handed over once; undefined when unknown or expired. */
  take(token: Buffer): RelaySocket | undefined {
    const key = token.toString('hex');
    const entry = this.#byToken.get(key);
    if (!entry) return undefined;
    this.#delete(key, entry);
    if (this.now() < entry.expiresAt) return entry.relay;
    entry.relay.close();
    return undefined;
  }

  /** Closes reservations nobody claimed in time. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.#byToken) {
      if (now >= entry.expiresAt) {
        this.#delete(key, entry);
        entry.relay.close();
      }
    }
  }

  closeAll(): void {
    for (const entry of this.#byToken.values()) entry.relay.close();
    this.#byToken.clear();
    this.#perDevice.clear();
  }

  get size(): number {
    return this.#byToken.size;
  }

  #delete(key: string, entry: Entry): void {
    this.#byToken.delete(key);
    const count = this.countFor(entry.deviceId) - 1;
    if (count <= 0) this.#perDevice.delete(entry.deviceId);
    else this.#perDevice.set(entry.deviceId, count);
  }
}
