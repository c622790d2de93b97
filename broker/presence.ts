import type { Logger } from '../core/log.js';
import { deviceTopics } from './topics.js';

/** What presence needs of the registry. */
export interface PresenceStore {
  markOnline(id: string): void;
  markOffline(id: string): void;
}

/** Retained payload of `<prefix>/<id>/status`. */
export interface StatusPayload {
  online: boolean;
  /** ISO 8601 time of the change. */
  at: string;
}

type Publish = (topic: string, payload: string, retain: boolean) => void;

/**
 * Presence: the broker acts as every device's last will. When a device session starts
 * or ends (DISCONNECT, socket drop, keep-alive timeout, takeover, kick), the registry
 * is updated and a retained status is published on the device's behalf, so devices
 * that cannot set a will still get one and no device can forge another's presence.
 */
export class Presence {
  readonly #online = new Set<string>();

  constructor(
    private readonly store: PresenceStore,
    private readonly prefix: string,
    private readonly publish: Publish,
    private readonly log: Logger,
    private readonly onChange: (deviceId: string, online: boolean) => void,
  ) {}

  isOnline(deviceId: string): boolean {
    return this.#online.has(deviceId);
  }

  deviceConnected(deviceId: string): void {
    this.#online.add(deviceId);
    this.#set(deviceId, true);
  }

  deviceDisconnected(deviceId: string): void {
    if (!this.#online.delete(deviceId)) return;
    this.#set(deviceId, false);
  }

  /** Publishes a retained offline status for devices never seen since start (fresh broker state). */
  announceOffline(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) if (!this.#online.has(id)) this.#publishStatus(id, false);
  }

  #set(deviceId: string, online: boolean): void {
    try {
      if (online) this.store.markOnline(deviceId);
      else this.store.markOffline(deviceId);
    } catch (err) {
      // The registry may be closing during shutdown; presence must not crash the broker.
      this.log.warn({ err, device: deviceId }, 'could not record presence in the registry');
    }
    this.#publishStatus(deviceId, online);
    this.log.info({ device: deviceId }, online ? 'device online' : 'device offline');
    this.onChange(deviceId, online);
  }

  #publishStatus(deviceId: string, online: boolean): void {
    const payload: StatusPayload = { online, at: new Date().toISOString() };
    this.publish(deviceTopics(this.prefix, deviceId).status, JSON.stringify(payload), true);
  }
}
