import type { Logger } from '../core/log.js';
import { devicesOfFilter, deviceTopics, topicMatches } from './topics.js';

/** Where presence changes go in the registry (batched by PresenceWriter; `at`: ms since the epoch). */
export interface PresenceStore {
  record(id: string, online: boolean, at: number): void;
}

/** Retained payload of `<prefix>/<id>/status`. */
export interface StatusPayload {
  online: boolean;
  /** ISO 8601 time of the change. */
  at: string;
}

/** A status message as a subscriber receives it. */
export interface StatusMessage {
  topic: string;
  payload: string;
}

/** Publishes a status change to established subscriptions (never retained in the broker's store). */
type Publish = (topic: string, payload: string) => void;

/**
 * Presence: the broker acts as every device's last will. When a device session starts
 * or ends (DISCONNECT, socket drop, keep-alive timeout, takeover, kick), the registry
 * is updated (batched, see presence-writer.ts) and the device's status is published on its behalf, so devices that cannot
 * set a will still get one and no device can forge another's presence.
 *
 * The status is retained as far as subscribers can tell, but it is kept here, indexed by
 * device, not in aedes's retained store: aedes-persistence answers every SUBSCRIBE by
 * testing every retained message against the filter, so one retained status per registered
 * device made a connect storm of N devices cost O(N^2) (issue 9, item 19; docs/decisions.md
 * D24). `retainedFor(filter)` looks at one device for a device's own filter and
 * scans only for service filters such as `<prefix>/+/status`.
 */
export class Presence {
  /** Devices with a session on this broker. */
  readonly #online = new Set<string>();
  /** Devices online anywhere: here, or (in a cluster) on another node, as its status messages say. */
  readonly #onlineAnywhere = new Set<string>();
  /** Current status payload per device: what a new subscriber receives as retained. */
  readonly #statuses = new Map<string, string>();

  constructor(
    private readonly store: PresenceStore,
    private readonly prefix: string,
    private readonly publish: Publish,
    private readonly log: Logger,
    private readonly onChange: (deviceId: string, online: boolean) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Online on this broker or, in a cluster, on another node. */
  isOnline(deviceId: string): boolean {
    return this.#onlineAnywhere.has(deviceId);
  }

  /**
   * The device's current status as this broker knows it (its own sessions at once, other nodes'
   * as their status messages arrive); undefined before any. Fresher than the registry's
   * columns, which the presence writer updates in batches.
   */
  status(deviceId: string): { online: boolean; at: number } | undefined {
    const payload = this.#statuses.get(deviceId);
    if (payload === undefined) return undefined;
    const status = JSON.parse(payload) as StatusPayload;
    return { online: status.online, at: Date.parse(status.at) };
  }

  /** Whether the device has a session on this broker. */
  isLocal(deviceId: string): boolean {
    return this.#online.has(deviceId);
  }

  /** Devices connected to this broker now. */
  get onlineCount(): number {
    return this.#online.size;
  }

  deviceConnected(deviceId: string): void {
    this.#online.add(deviceId);
    this.#set(deviceId, true);
  }

  /**
   * The device's session here ended. `announce: false` (cluster mode) only forgets the local
   * session: whether the device is offline is decided cluster-wide, and then `markOffline`.
   */
  deviceDisconnected(deviceId: string, announce = true): void {
    if (!this.#online.delete(deviceId)) return;
    if (announce) this.#set(deviceId, false);
  }

  /** Records and announces the device offline (a cluster decided so), unless it has a session here. */
  markOffline(deviceId: string): void {
    if (this.#online.has(deviceId)) return;
    this.#set(deviceId, false);
  }

  /**
   * A status published by another node of the cluster (or read from the cluster's presence at
   * start): kept as the device's retained status. A payload that is not a status is ignored.
   */
  statusSeen(deviceId: string, payload: string): void {
    if (this.#online.has(deviceId)) return; // this broker's own session is the truth here
    let status: StatusPayload;
    try {
      status = JSON.parse(payload) as StatusPayload;
    } catch {
      return;
    }
    if (typeof status?.online !== 'boolean' || typeof status.at !== 'string') return;
    const normalized = JSON.stringify({ online: status.online, at: status.at } satisfies StatusPayload);
    if (this.#statuses.get(deviceId) === normalized) return;
    this.#statuses.set(deviceId, normalized);
    const was = this.#onlineAnywhere.has(deviceId);
    if (status.online) this.#onlineAnywhere.add(deviceId);
    else this.#onlineAnywhere.delete(deviceId);
    if (was !== status.online) this.onChange(deviceId, status.online);
  }

  /** A deleted device: it has no status any more, so no subscriber receives one. */
  forget(deviceId: string): void {
    this.#online.delete(deviceId);
    this.#onlineAnywhere.delete(deviceId);
    this.#statuses.delete(deviceId);
  }

  /** Records an offline status for devices with no status yet (fresh broker state). */
  announceOffline(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) if (!this.#statuses.has(id)) this.#record(id, false, this.now());
  }

  /**
   * The status messages a new subscription to `filter` receives as retained messages
   * ([MQTT-3.3.1-6]): those of the devices whose status topic matches it.
   */
  retainedFor(filter: string): StatusMessage[] {
    const scope = devicesOfFilter(this.prefix, filter);
    if (scope === 'none') return [];
    const ids = scope === 'all' ? this.#statuses.keys() : [scope.deviceId];
    const found: StatusMessage[] = [];
    for (const id of ids) {
      const payload = this.#statuses.get(id);
      const topic = deviceTopics(this.prefix, id).status;
      if (payload !== undefined && topicMatches(filter, topic)) found.push({ topic, payload });
    }
    return found;
  }

  #set(deviceId: string, online: boolean): void {
    const at = this.now();
    this.store.record(deviceId, online, at);
    const payload = this.#record(deviceId, online, at);
    this.publish(deviceTopics(this.prefix, deviceId).status, payload);
    this.log.info({ device: deviceId }, online ? 'device online' : 'device offline');
    this.onChange(deviceId, online);
  }

  #record(deviceId: string, online: boolean, at: number): string {
    const status: StatusPayload = { online, at: new Date(at).toISOString() };
    const payload = JSON.stringify(status);
    this.#statuses.set(deviceId, payload);
    if (online) this.#onlineAnywhere.add(deviceId);
    else this.#onlineAnywhere.delete(deviceId);
    return payload;
  }
}
