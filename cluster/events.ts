import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { SafeEmitter } from '../core/safe-emitter.js';
import type { ClusterKeys } from './keys.js';
import { redisCall } from './redis.js';

const id = z.string().min(1).max(128);

/** What nodes tell each other. Every message is validated on arrival: Redis is shared. */
export const clusterEventSchema = z.discriminatedUnion('type', [
  /** A device was rotated, revoked, deleted or its recording policy changed (by any node or CLI). */
  z.object({
    type: z.literal('device-changed'),
    deviceId: id,
    kinds: z.array(z.string().max(32)).max(8),
  }),
  /** An API token was revoked: every node ends the sessions it opened. */
  z.object({ type: z.literal('token-revoked'), tokenId: id }),
]);
export type ClusterEvent = z.infer<typeof clusterEventSchema>;

const envelopeSchema = z.object({ from: id, at: z.number().int(), event: clusterEventSchema });

/** Largest message read from the channel; larger ones are dropped unread. */
export const MAX_EVENT_BYTES = 16_384;

export type BusEvents = {
  event: [event: ClusterEvent, from: string];
  /**
   * The subscription came back after Redis was away: messages sent meanwhile are lost, so
   * listeners re-read what they follow from the store.
   */
  resync: [];
};

/**
 * Events between nodes over Redis pub/sub (one channel per cluster). Delivery is at most once and
 * only to nodes subscribed at the time: whatever must not be missed is also in the store, and
 * `resync` tells listeners when to re-read it. A node receives its own messages too (`from` says
 * whose), so one code path handles a change wherever it was made.
 */
export class ClusterBus extends SafeEmitter<BusEvents> {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #keys: ClusterKeys;
  readonly #nodeId: string;
  readonly #warn: RateLimitedLog;
  readonly #now: () => number;

  private constructor(
    redis: Redis,
    subscriber: Redis,
    keys: ClusterKeys,
    nodeId: string,
    log: Logger,
    now: () => number,
  ) {
    super(log);
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.#keys = keys;
    this.#nodeId = nodeId;
    this.#now = now;
    this.#warn = new RateLimitedLog(log, now);
  }

  /** Subscribes a second connection (a subscribed Redis connection can do nothing else) to the channel. */
  static async open(options: {
    redis: Redis;
    subscriber: Redis;
    keys: ClusterKeys;
    nodeId: string;
    log: Logger;
    now?: () => number;
  }): Promise<ClusterBus> {
    const bus = new ClusterBus(
      options.redis,
      options.subscriber,
      options.keys,
      options.nodeId,
      options.log,
      options.now ?? Date.now,
    );
    await redisCall('subscribe', () => options.subscriber.subscribe(options.keys.events));
    // Connected already: a later `ready` is a reconnection, after which ioredis re-subscribes by itself.
    options.subscriber.on('ready', () => bus.emit('resync'));
    options.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      bus.#receive(channel, message),
    );
    return bus;
  }

  /** Sends an event to every node (this one included). */
  async publish(event: ClusterEvent): Promise<void> {
    const message = JSON.stringify({
      from: this.#nodeId,
      at: this.#now(),
      event: clusterEventSchema.parse(event),
    });
    await redisCall('publish', () => this.#redis.publish(this.#keys.events, message));
  }

  #receive(channel: Buffer, message: Buffer): void {
    if (channel.toString() !== this.#keys.events) return;
    if (message.length > MAX_EVENT_BYTES) {
      this.#warn.warn('bus:too-large', { bytes: message.length }, 'cluster event too large, dropped');
      return;
    }
    let parsed: z.infer<typeof envelopeSchema> | undefined;
    try {
      const result = envelopeSchema.safeParse(JSON.parse(message.toString('utf8')));
      parsed = result.success ? result.data : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      this.#warn.warn('bus:invalid', { bytes: message.length }, 'cluster event not understood, dropped');
      return;
    }
    this.emit('event', parsed.event, parsed.from);
  }

  async close(): Promise<void> {
    this.removeAllListeners();
    await this.#subscriber.unsubscribe().catch(() => {});
  }
}
