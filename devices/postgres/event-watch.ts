import pg from 'pg';
import { RETAIN_EVENTS_MS } from '../device-rules.js';
import type { CredentialListener, DeviceEventKind } from '../types.js';
import { DEVICE_EVENTS_CHANNEL } from './device-store.js';
import { connectionConfig, type PgPool, type PostgresOptions } from './pool.js';

const PRUNE_EVERY_MS = 3_600_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
const CLOCK_MARGIN_MS = 5_000;

/**
 * Tells a running server about device events written by any process or node sharing the
 * PostgreSQL registry (docs/decisions.md D29). One connection of its own LISTENs on
 * `lookout_device_events`; each notification (sent on commit) makes it read the event log
 * past the last sequence number it saw, so nothing is lost between notifications, and a
 * notification lost with a dropped connection is made up for by the read after reconnecting
 * and by a slow poll (`eventPollMs`). The listener is called once per changed device per read.
 */
export class PgEventWatch {
  readonly #pool: PgPool;
  readonly #options: PostgresOptions;
  readonly #listener: CredentialListener;
  readonly #onError: (err: Error) => void;
  readonly #poll: NodeJS.Timeout;
  #client: pg.Client | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #reconnectMs = RECONNECT_MIN_MS;
  #lastSeq: number | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  readonly #now: () => number;
  #lastPrune: number;
  readonly #createdAt: number;
  #firstReadFailed = false;
  #closed = false;

  constructor(
    pool: PgPool,
    options: PostgresOptions,
    listener: CredentialListener,
    onError: (err: Error) => void,
    now: () => number = Date.now,
  ) {
    this.#pool = pool;
    // The registry's clock, the one that stamps the events: where the log stood when the watch
    // began is read by time, so both must agree (an event in the very millisecond the watch began
    // is told, which is harmless).
    this.#now = now;
    this.#lastPrune = now();
    this.#createdAt = now();
    this.#options = options;
    this.#listener = listener;
    this.#onError = onError;
    this.#poll = setInterval(() => void this.read(), options.eventPollMs ?? 5000);
    this.#poll.unref();
    // Where the log stands now: only later events are told.
    void this.read();
    void this.#connect();
  }

  /** Resolves once the watch listens (or has given up for now and will retry). */
  ready: Promise<void> = Promise.resolve();

  /** Reads the events past the last one seen and tells the listener; one read at a time. */
  read(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#read()
      .catch((err: Error) => {
        if (this.#lastSeq === undefined) this.#firstReadFailed = true;
        this.#onError(err);
      })
      .finally(() => {
        this.#reading = undefined;
        if (this.#again) {
          this.#again = false;
          void this.read();
        }
      });
    return this.#reading;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#reconnect);
    const client = this.#client;
    this.#client = undefined;
    client?.end().catch(() => {});
  }

  async #read(): Promise<void> {
    if (this.#lastSeq === undefined) {
      // Where the log stood when the watch began: the events written since are told, found by
      // their time, so a change made while this first read was on its way is not lost. When this
      // first read failed (the database was down), with a margin for clocks (a change told twice
      // is harmless, a lost one is not).
      const since = this.#firstReadFailed ? this.#createdAt - CLOCK_MARGIN_MS : this.#createdAt;
      const { rows } = await this.#pool.query<{ seq: number }>(
        'SELECT COALESCE((SELECT MIN(seq) - 1 FROM device_events WHERE at >= $1), MAX(seq), 0)::bigint AS seq FROM device_events',
        [since],
      );
      this.#lastSeq ??= rows[0]!.seq;
    }
    for (;;) {
      const since: number = this.#lastSeq;
      const { rows } = await this.#pool.query<{ seq: number; device_id: string; kind: DeviceEventKind }>(
        'SELECT seq, device_id, kind FROM device_events WHERE seq > $1 ORDER BY seq LIMIT 1000',
        [since],
      );
      if (this.#closed) return;
      const changed = new Map<string, Set<DeviceEventKind>>();
      for (const row of rows) {
        const kinds = changed.get(row.device_id) ?? new Set<DeviceEventKind>();
        kinds.add(row.kind);
        changed.set(row.device_id, kinds);
        this.#lastSeq = row.seq;
      }
      for (const [id, kinds] of changed) this.#listener(id, kinds);
      if (rows.length < 1000) break;
    }
    if (this.#now() - this.#lastPrune > PRUNE_EVERY_MS) {
      this.#lastPrune = this.#now();
      await this.#pool.query('DELETE FROM device_events WHERE at < $1', [this.#now() - RETAIN_EVENTS_MS]);
    }
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(connectionConfig(this.#options));
    // A LISTEN connection has no statement running: no timeout may end it.
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, new Error('the LISTEN connection ended')));
    client.on('notification', () => void this.read());
    this.#client = client;
    const listening = (async () => {
      await client.connect();
      await client.query(`LISTEN ${DEVICE_EVENTS_CHANNEL}`);
      if (this.#closed) return;
      this.#reconnectMs = RECONNECT_MIN_MS;
      // What happened while not listening (or since the watch began).
      await this.read();
    })();
    this.ready = listening.catch(() => {});
    try {
      await listening;
    } catch (err) {
      this.#lost(client, err as Error);
    }
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#closed || this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => {});
    this.#onError(err);
    this.#reconnect = setTimeout(() => void this.#connect(), this.#reconnectMs);
    this.#reconnect.unref();
    this.#reconnectMs = Math.min(RECONNECT_MAX_MS, this.#reconnectMs * 2);
  }
}
