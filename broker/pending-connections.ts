/**
 * Connections that have not logged in yet, counted per source address and in all: pure,
 * no sockets. A stranger who opens sockets and never completes a login holds file
 * descriptors without any credential, so those connections are capped per address and
 * globally; logged-in sessions are not counted (cameras behind one carrier-grade NAT share
 * an address), and their number is bounded by the registry instead (one session per
 * device, MQTT-3.1.4-2 takeover).
 */

export interface PendingLimits {
  /** Most pending connections from one source address. */
  maxPendingPerAddress: number;
  /** Most pending connections in all. */
  maxPending: number;
}

export type Admission = { ok: true } | { ok: false; limit: 'address' | 'total' };

export class PendingConnections {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: PendingLimits) {}

  /** Counts a new connection from `address`, or refuses it (nothing counted) when a cap is reached. */
  admit(address: string): Admission {
    if (this.#total >= this.limits.maxPending) return { ok: false, limit: 'total' };
    const current = this.#byAddress.get(address) ?? 0;
    if (current >= this.limits.maxPendingPerAddress) return { ok: false, limit: 'address' };
    this.#byAddress.set(address, current + 1);
    this.#total++;
    return { ok: true };
  }

  /** The connection logged in or closed. Call once per successful admit(). */
  release(address: string): void {
    const current = this.#byAddress.get(address);
    if (current === undefined) return;
    if (current <= 1) this.#byAddress.delete(address);
    else this.#byAddress.set(address, current - 1);
    this.#total--;
  }

  get total(): number {
    return this.#total;
  }

  /** Addresses with pending connections (the map never holds more than `maxPending` keys). */
  get addresses(): number {
    return this.#byAddress.size;
  }
}
