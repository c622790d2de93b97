/** Bounds on WHEP viewers: per API token (one principal) and in all. */
export interface ViewerLimits {
  perToken: number;
  total: number;
}

export type Admission = { ok: true; release(): void } | { ok: false; bound: 'per-token' | 'total' };

/**
 * Whether one more WHEP session may start. Every session holds a werift peer connection and
 * its UDP sockets, so one token (or everyone together) must not open them without bound.
 * Sessions still being set up count, or a burst of concurrent POSTs would pass the bound
 * before any of them is open. Pure: the caller says how many are open.
 */
export class ViewerAdmission {
  readonly #limits: ViewerLimits;
  readonly #pending = new Map<string, number>();
  #pendingTotal = 0;

  constructor(limits: ViewerLimits) {
    this.#limits = limits;
  }

  /**
   * Reserves a place for a session `owner` is opening, given the sessions open now. On `ok`,
   * call release() once the session is open (or failed): from then on it counts as open.
   */
  admit(owner: string, open: { byOwner: number; total: number }): Admission {
    const pendingOwner = this.#pending.get(owner) ?? 0;
    if (open.total + this.#pendingTotal >= this.#limits.total) return { ok: false, bound: 'total' };
    if (open.byOwner + pendingOwner >= this.#limits.perToken) return { ok: false, bound: 'per-token' };
    this.#pending.set(owner, pendingOwner + 1);
    this.#pendingTotal++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#pendingTotal--;
        const left = (this.#pending.get(owner) ?? 1) - 1;
        if (left > 0) this.#pending.set(owner, left);
        else this.#pending.delete(owner);
      },
    };
  }
}
