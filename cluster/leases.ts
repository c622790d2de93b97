import type { Redis } from 'ioredis';
import type { Logger } from '../core/log.js';
import { SafeEmitter } from '../core/safe-emitter.js';
import type { ClusterKeys } from './keys.js';
import { redisCall } from './redis.js';

/** Renews a lease only while this node still holds it. */
/**
 * Renews a lease: 1 while this node holds it; 2 when no node does (it expired while Redis could not
 * be reached, or a Redis restarted empty) and this node takes it again; 0 when another node does.
 */
const RENEW = `local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  return 2
end
return 0`;
/** Releases a lease only while this node still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SREM', KEYS[2], ARGV[2]); return redis.call('DEL', KEYS[1]) else return 0 end`;

export type LeaseEvents = {
  /** Redis says another node holds a camera this node held. */
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
  /** Held cameras whose renewal Redis has not confirmed for `ttlMs` (logged once each). */
  readonly #unconfirmed = new Set<string>();
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

  /**
   * Held, and confirmed by Redis within `ttlMs`. A lease held but unconfirmed (Redis unreachable
   * from here for longer) keeps what already flows; new demand waits for Redis (D39).
   */
  isConfirmed(cameraId: string): boolean {
    const confirmedAt = this.#held.get(cameraId);
    return confirmedAt !== undefined && this.#now() - confirmedAt < this.#o.ttlMs;
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
    if (mine) {
      this.#held.set(cameraId, askedAt);
      this.#unconfirmed.delete(cameraId);
    }
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
    this.#unconfirmed.delete(cameraId);
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
   * Renews every lease this node holds. A lease Redis says is another node's is dropped and
   * reported (`lost`); one no node holds any more is taken again. One Redis cannot confirm (it is
   * unreachable) stays held, unconfirmed: the camera's media and recorder here go on, and the
   * next renewal that reaches Redis settles it.
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
      renewed = await redis.eval(
        RENEW,
        2,
        keys.lease(cameraId),
        keys.leases,
        nodeId,
        String(ttlMs),
        cameraId,
      );
    } catch {
      // Redis away: try again next tick. Past the time to live, said once per camera and outage.
      if (askedAt - confirmedAt >= ttlMs && !this.#unconfirmed.has(cameraId)) {
        this.#unconfirmed.add(cameraId);
        this.#o.log.warn(
          { camera: cameraId },
          'camera lease unconfirmed (Redis unreachable): what flows goes on, new demand waits for Redis',
        );
      }
      return;
    }
    if (this.#held.get(cameraId) !== confirmedAt) return; // released (or taken again) meanwhile
    if (renewed === 1 || renewed === 2) {
      this.#held.set(cameraId, askedAt);
      if (this.#unconfirmed.delete(cameraId) || renewed === 2)
        this.#o.log.info({ camera: cameraId, retaken: renewed === 2 }, 'camera lease confirmed again');
      return;
    }
    this.#held.delete(cameraId);
    this.#unconfirmed.delete(cameraId);
    this.#o.log.warn({ camera: cameraId, why: 'another node holds it' }, 'camera lease lost');
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
