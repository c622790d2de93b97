import { randomBytes } from 'node:crypto';
import type { Client } from 'aedes';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { BrokerCluster } from './cluster-engines.js';
import type { Presence } from './presence.js';
import { deviceTopics } from './topics.js';

/** The slice of aedes this file uses: its message bus, which in a cluster spans every node. */
interface ClusterBus {
  on(
    topic: string,
    listener: (packet: { topic: string; payload: Buffer | string }, done: () => void) => void,
  ): void;
}

const DEFAULT_OFFLINE_GRACE_MS = 1000;

/**
 * Keeps this broker's Presence right in a cluster (docs/cluster.md):
 * - a device's sessions are recorded in the cluster's presence hash (newest session wins);
 * - when a session here ends, the device is announced offline only if that session was still
 *   its latest anywhere, and still is after `offlineGraceMs` (a device moving to another node
 *   connects there meanwhile);
 * - statuses other nodes publish become this broker's retained statuses;
 * - when a node has left the cluster (checked every heartbeat), its devices are set offline, each
 *   by one surviving node.
 */

/**
 * A sweep reads every device's entry (HGETALL of the whole hash: at 10,000 devices it blocked
 * Redis and each node's event loop every heartbeat, the cross-node round trip's p99 went from
 * 11 ms at 2,000 devices to 70-90 ms). So it runs when a node has left since the last sweep, at
 * start, and every this many heartbeats as a safety net.
 */
const FULL_SWEEP_EVERY_HEARTBEATS = 30;
export class ClusterPresenceSync {
  readonly #sessions = new WeakMap<Client, string>();
  readonly #pending = new Set<Promise<void>>();
  readonly #warn: RateLimitedLog;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  /** The live nodes at the last sweep that completed (undefined before the first). */
  #sweptLive: ReadonlySet<string> | undefined;
  #heartbeatsSinceSweep = 0;
  #closing = false;

  constructor(
    private readonly cluster: BrokerCluster,
    private readonly presence: Presence,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.#warn = new RateLimitedLog(log, now);
  }

  /**
   * At start: this node's entries left by a previous run are set offline (and announced), the
   * cluster's statuses become the retained ones, other nodes' status messages are followed, and
   * the sweep of dead nodes' devices starts.
   */
  async start(bus: ClusterBus): Promise<void> {
    const { presence } = this.cluster;
    const stale = await presence.sweep(new Set(), this.now(), this.cluster.nodeId);
    for (const id of stale) this.presence.markOffline(id);
    for (const [id, entry] of await presence.snapshot()) {
      this.presence.statusSeen(
        id,
        JSON.stringify({ online: entry.online, at: new Date(entry.at).toISOString() }),
      );
    }
    bus.on(deviceTopics(this.prefix, '+').status, (packet, done) => {
      const id = packet.topic.split('/')[1];
      if (id) this.presence.statusSeen(id, packet.payload.toString());
      done();
    });
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.sweep().finally(() => {
        this.#sweeping = undefined;
      });
    }, this.cluster.heartbeatMs);
    this.#timer.unref();
  }

  /** A device session started on this broker. */
  connected(deviceId: string, client: Client): void {
    const session = randomBytes(6).toString('base64url');
    this.#sessions.set(client, session);
    this.#track(
      this.cluster.presence.connected(deviceId, session, this.now()).catch((err: Error) => {
        this.#warn.warn('cluster-presence', { err: err.message }, 'could not record presence in Redis');
      }),
    );
  }

  /** A device session on this broker ended (not taken over by a newer session here). */
  disconnected(deviceId: string, client: Client): void {
    const session = this.#sessions.get(client);
    if (!session) return;
    this.#track(this.#disconnected(deviceId, session));
  }

  async #disconnected(deviceId: string, session: string): Promise<void> {
    const store = this.cluster.presence;
    try {
      const moved = () =>
        this.log.info({ device: deviceId }, 'device session ended here; a newer session holds it');
      if (!(await store.disconnected(deviceId, session, this.now()))) {
        moved();
        return;
      }
      if (!this.#closing) {
        await new Promise((r) => setTimeout(r, this.cluster.offlineGraceMs ?? DEFAULT_OFFLINE_GRACE_MS));
        if (!(await store.stillOffline(deviceId, session))) {
          moved();
          return;
        }
      }
    } catch (err) {
      // Redis away: this node's own view is all there is.
      this.#warn.warn(
        'cluster-presence',
        { err: (err as Error).message },
        'could not record presence in Redis',
      );
    }
    this.presence.markOffline(deviceId);
  }

  /** Sets offline the devices of nodes no longer alive; announces those this node won. */
  async sweep(): Promise<void> {
    try {
      const live = await this.cluster.liveNodes();
      if (!live.has(this.cluster.nodeId)) return; // our own entry is missing: Redis restarted or we are cut off
      const previous = this.#sweptLive;
      const nodeLeft = previous === undefined || [...previous].some((id) => !live.has(id));
      if (!nodeLeft && ++this.#heartbeatsSinceSweep < FULL_SWEEP_EVERY_HEARTBEATS) {
        this.#sweptLive = live; // nodes that joined since count from now
        return;
      }
      for (const id of await this.cluster.presence.sweep(live, this.now())) {
        this.log.info({ device: id }, 'device offline: its node left the cluster');
        this.presence.markOffline(id);
      }
      this.#sweptLive = live;
      this.#heartbeatsSinceSweep = 0;
    } catch (err) {
      this.#warn.warn(
        'cluster-sweep',
        { err: (err as Error).message },
        'could not sweep presence of dead nodes',
      );
    }
  }

  forget(deviceId: string): void {
    this.#track(this.cluster.presence.forget(deviceId).catch(() => {}));
  }

  /** Stops the sweep and waits for the presence updates in flight (a closing broker's offlines too). */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#timer);
    await this.#sweeping;
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }
}
