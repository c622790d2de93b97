import pg from 'pg';
import { LookoutError } from '../../core/errors.js';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Most connections held at once. */
  poolSize: number;
  /** Statement timeout, and how long to wait for a connection, in ms. */
  statementTimeoutMs: number;
  /** How often a device event watch reads the event log even without a notification (ms). */
  eventPollMs?: number;
  /** Told about a connection error that no query was waiting on (the pool's 'error' event). */
  onIdleError?: (err: Error) => void;
}

/** BIGINT (int8, OID 20) columns hold epoch milliseconds and byte counts: safe as numbers. */
const INT8 = 20;
export const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as never,
};

/** Connection settings shared by the pool and the dedicated LISTEN connection. */
export function connectionConfig(options: PostgresOptions): pg.ClientConfig {
  return {
    connectionString: options.url,
    statement_timeout: options.statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs * 2, 10_000),
    connectionTimeoutMillis: options.statementTimeoutMs,
    application_name: 'lookout',
    types: pgTypes,
  };
}

/** SQLSTATE classes and codes that mean "the database is not there", not "this query is wrong". */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '53400', '08000']);
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);

/** Whether `err` says PostgreSQL cannot be reached or did not answer in time. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNAVAILABLE_STATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNO.has(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly|pool after calling end/i.test(
    message,
  );
}

/** The coded error a store rejects with when PostgreSQL is unreachable. */
export function unavailable(err: unknown): LookoutError {
  return new LookoutError(
    'REGISTRY_UNAVAILABLE',
    `the registry database is unavailable: ${(err as Error)?.message ?? String(err)}`,
    {},
    { cause: err },
  );
}

/**
 * A bounded pg Pool whose failures carry codes: unreachable or too slow is
 * REGISTRY_UNAVAILABLE, after close() REGISTRY_CLOSED. close() waits for the queries in
 * flight, then ends the pool. An idle connection dying (the server restarted) is reported
 * to `onIdleError`, never thrown: pg emits it as the pool's 'error' event.
 */
export class PgPool {
  readonly #pool: pg.Pool;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(options: PostgresOptions) {
    this.#pool = new pg.Pool({
      ...connectionConfig(options),
      max: options.poolSize,
      idleTimeoutMillis: 30_000,
    });
    this.#pool.on('error', (err) => options.onIdleError?.(err));
  }

  /** Runs one statement; rows typed by the caller. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return this.#track(() => this.#pool.query<R>(text, values));
  }

  /** Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#track(async () => {
      const client = await this.#pool.connect();
      let broken: unknown;
      // The connection may die between two statements of the transaction, when no query is
      // there to reject: pg then emits 'error' on the client, which must not go unheard.
      const lost = (err: Error) => {
        broken = err;
      };
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr) => {
          broken = rollbackErr;
        });
        throw err;
      } finally {
        client.off('error', lost);
        // A connection whose ROLLBACK failed (or that died) is in an unknown state: destroyed, not reused.
        client.release(broken instanceof Error ? broken : undefined);
      }
    });
  }

  /** Idempotent: refuses new queries, waits for those in flight, closes every connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      await this.#pool.end();
    })();
    return this.#closing;
  }

  #track<T>(run: () => Promise<T>): Promise<T> {
    if (this.#closing) {
      return Promise.reject(new LookoutError('REGISTRY_CLOSED', 'the registry is closed'));
    }
    const promise = run().catch((err: unknown) => {
      throw isUnavailable(err) ? unavailable(err) : err;
    });
    this.#inFlight.add(promise);
    const done = () => this.#inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }
}
