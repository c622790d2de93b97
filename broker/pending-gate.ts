import type { Duplex } from 'node:stream';
import { AddressCaps } from '../core/address-caps.js';
import type { Logger } from '../core/log.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';
import { addressKey } from './address-key.js';

/** Connections that have not logged in yet, most per address and in all (`mqtt.connections.*`). */
export interface PendingLimits {
  maxPendingPerAddress: number;
  maxPending: number;
}

/** Handed out for an admitted connection; `loggedIn()` stops counting it as pending. */
export interface PendingTicket {
  loggedIn(): void;
}

/**
 * Connections that have not logged in yet, counted in `AddressCaps` under `addressKey()`: a
 * stranger who opens sockets and never logs in holds file descriptors without any credential.
 * Logged-in sessions are not counted (cameras behind one carrier-grade NAT share an address);
 * the registry bounds them (one session per device, MQTT-3.1.4-2 takeover). Every transport
 * (TCP, TLS before its handshake, WebSocket after its upgrade) is admitted here first. A
 * connection over a cap is destroyed at once (logged once per window, per address); an
 * admitted one is destroyed if it has not logged in within `timeoutMs` of being accepted, TLS
 * handshake included, and stops counting when it logs in or closes.
 */
export class PendingGate {
  readonly #pending: AddressCaps;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    limits: PendingLimits,
    private readonly timeoutMs: number,
    private readonly warn: RateLimitedLog,
    private readonly log: Logger,
  ) {
    this.#pending = new AddressCaps({ perAddress: limits.maxPendingPerAddress, total: limits.maxPending });
  }

  /** Admits `conn` or destroys it; undefined when refused. */
  admit(conn: Duplex, address: string, transport: string): PendingTicket | undefined {
    const key = addressKey(address);
    const admission = this.#pending.admit(key);
    if (!admission.ok) {
      const perAddress = admission.limit === 'address';
      this.warn.warn(
        perAddress ? `pending:${key}` : 'pending',
        { address, transport, pending: this.#pending.total },
        perAddress
          ? 'connection refused: too many connections from this address have not logged in'
          : 'connection refused: too many connections have not logged in',
      );
      conn.destroy();
      return undefined;
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#timers.delete(timer);
      this.#pending.release(key);
    };
    const timer = setTimeout(() => {
      if (done) return;
      finish();
      this.log.debug({ address, transport }, 'connection closed: no login in time');
      conn.destroy();
    }, this.timeoutMs);
    this.#timers.add(timer);
    conn.once('close', finish);
    return { loggedIn: finish };
  }

  /** Connections admitted and not yet logged in or closed. */
  get pending(): number {
    return this.#pending.total;
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
