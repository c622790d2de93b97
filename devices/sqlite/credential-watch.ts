import { RETAIN_EVENTS_MS } from '../device-rules.js';
import type { CredentialListener, DeviceEventKind } from '../types.js';
import type { Db } from './db.js';

interface EventRow {
  seq: number;
  device_id: string;
  kind: DeviceEventKind;
}

/**
 * Tells a running server that some device's credentials changed, whichever process
 * changed them (the CLI writes the same SQLite file). Polls the `credential_events`
 * log: one indexed read per tick, cheap enough at 4 Hz to keep "revoke disconnects
 * within a second".
 */
export class SqliteCredentialWatch {
  readonly #db: Db;
  readonly #listener: CredentialListener;
  readonly #timer: NodeJS.Timeout;
  readonly #since;
  readonly #prune;
  #lastSeq: number;
  #ticks = 0;

  constructor(db: Db, listener: CredentialListener, intervalMs: number) {
    this.#db = db;
    this.#listener = listener;
    this.#since = db.prepare<[number], EventRow>(
      'SELECT seq, device_id, kind FROM credential_events WHERE seq > ? ORDER BY seq LIMIT 1000',
    );
    this.#prune = db.prepare('DELETE FROM credential_events WHERE at < ?');
    const row = db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM credential_events').get() as {
      seq: number;
    };
    this.#lastSeq = row.seq;
    this.#timer = setInterval(() => this.poll(), intervalMs);
    this.#timer.unref();
  }

  /** Reads new events now and notifies the listener once per changed device, with what changed. */
  poll(): void {
    if (!this.#db.open) return;
    const rows = this.#since.all(this.#lastSeq);
    const changed = new Map<string, Set<DeviceEventKind>>();
    for (const row of rows) {
      const kinds = changed.get(row.device_id) ?? new Set<DeviceEventKind>();
      kinds.add(row.kind);
      changed.set(row.device_id, kinds);
      this.#lastSeq = row.seq;
    }
    for (const [id, kinds] of changed) this.#listener(id, kinds);
    if (++this.#ticks % 14_400 === 0) this.#prune.run(Date.now() - RETAIN_EVENTS_MS);
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
