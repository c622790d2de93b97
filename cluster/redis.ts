import { Redis } from 'ioredis';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';

/** How long one Redis command may take before it fails (a stalled server must not stall a request). */
const COMMAND_TIMEOUT_MS = 2000;
/** Longest wait between reconnection attempts: a Redis that comes back is used again within this. */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * An ioredis connection that fails fast while Redis is away (no offline queue: a command sent
 * during an outage fails at once with REDIS_UNAVAILABLE instead of waiting in memory), reconnects
 * by itself every second at most, and logs the outage once per window rather than per attempt.
 */
export async function connectRedis(
  url: string,
  log: Logger,
  options: { name: string; now?: () => number; connectTimeoutMs?: number },
): Promise<Redis> {
  const warn = new RateLimitedLog(log, options.now ?? Date.now);
  let down = false;
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectionName: options.name,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
  });
  client.on('error', (err: Error) => {
    down = true;
    warn.warn(
      `redis:${options.name}`,
      { err: err.message, connection: options.name },
      'Redis unavailable, retrying',
    );
  });
  client.on('ready', () => {
    if (down) log.info({ connection: options.name }, 'Redis available again');
    down = false;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new LookoutError(
      'REDIS_UNAVAILABLE',
      `cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`,
      {
        url: redactUrl(url),
      },
    );
  }
  return client;
}

/** Runs a Redis command; its failure becomes REDIS_UNAVAILABLE (with the cause), for callers to map. */
export async function redisCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new LookoutError(
      'REDIS_UNAVAILABLE',
      `Redis ${what} failed: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(invalid URL)';
  }
}
