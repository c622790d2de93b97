/**
 * Open things (connections) counted per source address and in all, each count capped: pure,
 * no sockets. The broker counts connections that have not logged in yet (broker/pending-gate.ts),
 * the HTTP server every open connection (api/connection-caps.ts): what a stranger can hold
 * open without a credential is bounded per address and overall.
 */

export interface AddressLimits {
  /** Most from one source address. */
  perAddress: number;
  /** Most in all. */
  total: number;
}

export type Admission = { ok: true } | { ok: false; limit: 'address' | 'total' };

export class AddressCaps {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: AddressLimits) {}

  /** Counts one more from `address`, or refuses it (nothing counted) when a cap is reached. */
  admit(address: string): Admission {
    if (this.#total >= this.limits.total) return { ok: false, limit: 'total' };
    const current = this.#byAddress.get(address) ?? 0;
    if (current >= this.limits.perAddress) return { ok: false, limit: 'address' };
    this.#byAddress.set(address, current + 1);
    this.#total++;
    return { ok: true };
  }

  /** One admitted from `address` is gone. Call once per successful admit(). */
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

  /** Addresses with pending connections (the map never holds more than `total` keys). */
  get addresses(): number {
    return this.#byAddress.size;
  }
}
