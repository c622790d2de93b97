import type { Redis } from 'ioredis';
import type { Logger } from '../core/log.js';
import { SafeEmitter } from '../core/safe-emitter.js';
import type { ClusterKeys } from './keys.js';
import { redisCall } from './redis.js';

/** Renews a lease only while this node still holds it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Releases a lease only while this node still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SREM', KEYS[2], ARGV[2]); return redis.call('DEL', KEYS[1]) else return 0 end`;

export type LeaseEvents = {
  /** A lease this node held was not renewed in time (Redis away too long, or taken over). */
  lost: [cameraId: string];
};

export interface CameraLeasesOptions {
  redis: Redis;
  keys: ClusterKeys;
  nodeId: string;
  /** A lease outlives its holder's last renewal by this; renewed every third of it. */
  ttlMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * Which node holds each camera's media session: a Redis key per camera, set only if absent
 * (`SET NX PX`), renewed by its holder and released by its holder only (compare-and-delete in
 * Lua). A node that dies stops renewing, its leases expire after `ttlMs`, and the next demand
 * for the camera places it again.
 */
export class CameraLeases extends SafeEmitter<LeaseEvents> {
  readonly #o: CameraLeasesOptions;
  /** Held camera ids, each with when Redis last confirmed it (taken or renewed). */
  readonly #held = new Map<string, number>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #renewing: Promise<void> | undefined;

  constructor(options: CameraLeasesOptions) {
    super(options.log);
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(
      () => {
        this.#renewing ??= this.renew().finally(() => {
          this.#renewing = undefined;
        });
      },
      Math.max(50, Math.floor(options.ttlMs / 3)),
    );
    this.#timer.unref();
  }

  /** Camera ids whose lease this node holds. */
  held(): string[] {
    return [...this.#held.keys()];
  }

  /** Whether this node holds the camera's lease (as far as it knows: synchronous, no Redis). */
  isHeld(cameraId: string): boolean {
    return this.#held.has(cameraId);
  }

  /** Takes the camera's lease if free; either way says who holds it now. */
  async acquire(cameraId: string): Promise<{ holder: string; mine: boolean }> {
    const { redis, keys, nodeId, ttlMs } = this.#o;
    const askedAt = this.#now();
    const [set, holder] = (await redisCall('lease', () =>
      redis
        .multi()
        .set(keys.lease(cameraId), nodeId, 'PX', ttlMs, 'NX')
        .get(keys.lease(cameraId))
        .sadd(keys.leases, cameraId)
        .exec(),
    )) as Array<[Error | null, unknown]>;
    const owner = String(holder?.[1] ?? '');
    const mine = owner === nodeId;
    if (mine) this.#held.set(cameraId, askedAt);
    if (set?.[1] === 'OK') this.#o.log.debug({ camera: cameraId }, 'camera lease taken');
    return { holder: owner, mine };
  }

  /** The node holding the camera's lease, if any. */
  async holder(cameraId: string): Promise<string | undefined> {
    const { redis, keys } = this.#o;
    return (await redisCall('lease', () => redis.get(keys.lease(cameraId)))) ?? undefined;
  }

  /** Gives the lease up if this node holds it; true if it did. */
  async release(cameraId: string): Promise<boolean> {
    const { redis, keys, nodeId } = this.#o;
    this.#held.delete(cameraId);
    const released = await redisCall('lease', () =>
      redis.eval(RELEASE, 2, keys.lease(cameraId), keys.leases, nodeId, cameraId),
    );
    return released === 1;
  }

  /** Every camera with a lease and its holder. */
  list(): Promise<Array<{ cameraId: string; holder: string }>> {
    return listLeases(this.#o.redis, this.#o.keys);
  }

  /**
   * Renews every lease this node holds. A lease Redis says is gone or another node's is dropped
   * and reported (`lost`); so is one Redis could not confirm for `ttlMs` (it has expired there, and
   * another node may hold it by now).
   */
  async renew(): Promise<void> {
    // All at once: ioredis pipelines them, so a node with many cameras renews in one round trip.
    await Promise.all(
      [...this.#held].map(([cameraId, confirmedAt]) => this.#renewOne(cameraId, confirmedAt)),
    );
  }

  async #renewOne(cameraId: string, confirmedAt: number): Promise<void> {
    const { redis, keys, nodeId, ttlMs } = this.#o;
    const askedAt = this.#now();
    let renewed: unknown;
    try {
      renewed = await redis.eval(RENEW, 1, keys.lease(cameraId), nodeId, String(ttlMs));
    } catch {
      // Redis away: try again next tick, unless the lease has outlived its time to live.
      if (askedAt - confirmedAt < ttlMs) return;
      renewed = 'expired';
    }
    if (this.#held.get(cameraId) !== confirmedAt) return; // released (or taken again) meanwhile
    if (renewed === 1) {
      this.#held.set(cameraId, askedAt);
      return;
    }
    this.#held.delete(cameraId);
    this.#o.log.warn(
      { camera: cameraId, why: renewed === 'expired' ? 'not renewed in time' : 'not held in Redis' },
      'camera lease lost',
    );
    this.emit('lost', cameraId);
  }

  /** Stops renewing and releases what this node holds (best effort: Redis may be away). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    await Promise.all(this.held().map((id) => this.release(id).catch(() => false)));
  }
}

/** Every camera of a cluster with a lease, and its holder; expired leases are dropped from the index. */
export async function listLeases(
  redis: Redis,
  keys: ClusterKeys,
): Promise<Array<{ cameraId: string; holder: string }>> {
  const ids = (await redisCall('leases', () => redis.smembers(keys.leases))).sort();
  if (ids.length === 0) return [];
  const holders = await redisCall('leases', () => redis.mget(ids.map((id) => keys.lease(id))));
  const expired = ids.filter((_, i) => !holders[i]);
  if (expired.length > 0)
    await redisCall('leases', () => redis.srem(keys.leases, ...expired)).catch(() => {});
  return ids.flatMap((cameraId, i) => (holders[i] ? [{ cameraId, holder: holders[i]! }] : []));
}
