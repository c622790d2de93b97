import type { Logger } from '../core/log.js';
import type { PresenceChange } from '../devices/index.js';

export type { PresenceChange };

/** What the writer needs of the registry: many changes in one transaction. */
export interface PresenceRecorder {
  recordPresence(changes: readonly PresenceChange[]): Promise<void>;
}

export interface PresenceTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: PresenceTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Writes presence changes to the registry in batches: one transaction per `intervalMs`
 * instead of one UPDATE (one SQLite transaction, one WAL append) per CONNECT and per
 * disconnect. In a connect storm of 10,000 devices the per-change UPDATE was a few
 * percent of the broker's CPU (issue 9, item 19; docs/decisions.md D24).
 *
 * Only the last change per device within an interval is written, with the time it
 * happened. The broker's own view (`Presence.isOnline`, the status messages) is never
 * delayed: only the registry's `online`/`last_seen_at` columns lag by up to `intervalMs`.
 * A crash loses at most that interval of changes; the next start marks every device
 * offline anyway, so what can be lost is `last_seen_at` of the last `intervalMs`.
 */
export class PresenceWriter {
  readonly #pending = new Map<string, PresenceChange>();
  #timer: unknown;
  #closed = false;
  /** The last batch's write: batches are written one after the other, in order. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: PresenceRecorder,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly timers: PresenceTimers = realTimers,
  ) {}

  /** Number of changes waiting for the next flush. */
  get pending(): number {
    return this.#pending.size;
  }

  record(id: string, online: boolean, at: number): void {
    // Re-inserted so the batch keeps the order in which the last changes happened.
    this.#pending.delete(id);
    this.#pending.set(id, { id, online, at });
    if (this.#closed) {
      void this.flush();
      return;
    }
    this.#timer ??= this.timers.setTimeout(() => void this.flush(), this.intervalMs);
  }

  /**
   * Writes what is pending now, in one transaction, after the batches before it (so an
   * older state never overwrites a newer one). Resolves once written; never rejects.
   */
  flush(): Promise<void> {
    if (this.#timer !== undefined) this.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return this.#writing;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    this.#writing = this.#writing.then(async () => {
      try {
        await this.store.recordPresence(batch);
      } catch (err) {
        // The registry may be closing or unreachable; presence must not crash the broker.
        this.log.warn({ err, changes: batch.length }, 'could not record presence in the registry');
      }
    });
    return this.#writing;
  }

  /**
   * Flushes; later changes (disconnects during shutdown) are written at once. Resolves when
   * every batch is written. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    return this.flush();
  }
}
