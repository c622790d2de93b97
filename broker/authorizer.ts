import type { Client } from 'aedes';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';
import { canPublish, canSubscribe, deviceOfTopic, type Identity } from './topics.js';

/**
 * aedes' authorize hooks, for a client whose identity was decided at CONNECT: the ACL of
 * topics.ts, plus the rules that bound what a device can make the broker keep:
 * no retained messages from devices (only the broker's own status is retained,
 * docs/mqtt-topics.md), and at most `maxSubscriptions` subscriptions per device.
 */
export class Authorizer {
  constructor(
    private readonly prefix: string,
    private readonly identities: WeakMap<Client, Identity>,
    private readonly limits: { maxSubscriptions: number },
    private readonly warn: RateLimitedLog,
    private readonly log: Logger,
  ) {}

  /** PUBLISH: null to allow (after clearing a device's retain flag), an error to refuse and disconnect. */
  publish(client: Client | null, packet: { topic: string; retain?: boolean }): Error | null {
    const topic = packet.topic;
    const identity = client ? this.identities.get(client) : undefined;
    if (identity && canPublish(this.prefix, identity, topic)) {
      // A device's retained message would outlive its session, even its revocation, in
      // memory the device controls; clearing the flag keeps devices that set it by habit working.
      if (identity.kind === 'device' && packet.retain) {
        packet.retain = false;
        this.#retainCleared(identity.deviceId, topic);
      }
      return null;
    }
    this.log.warn(
      { client: client?.id, topic },
      "publish refused: outside the client's topics; disconnecting",
    );
    return new LookoutError('MQTT_PUBLISH_DENIED', `publish to '${topic}' not allowed`);
  }

  /** A device's will is a publish on its behalf: the same retain rule applies. */
  will(identity: Identity, will: { topic?: string; retain?: boolean } | undefined): void {
    if (identity.kind !== 'device' || !will?.retain) return;
    will.retain = false;
    this.#retainCleared(identity.deviceId, will.topic ?? '');
  }

  /** SUBSCRIBE of one filter: false answers SUBACK 0x80 and keeps the connection. */
  subscribe(client: Client, filter: string): boolean {
    const identity = this.identities.get(client);
    if (identity === undefined || !canSubscribe(this.prefix, identity, filter)) {
      this.warn.warn(
        `subscribe:${client.id}`,
        { client: client.id, filter },
        "subscription refused: outside the client's topics",
      );
      return false;
    }
    // aedes keeps the client's live subscriptions by filter (restored ones included).
    const held = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;
    if (
      identity.kind === 'device' &&
      !Object.hasOwn(held, filter) &&
      Object.keys(held).length >= this.limits.maxSubscriptions
    ) {
      this.warn.warn(
        `subscriptions:${client.id}`,
        { client: client.id, filter, limit: this.limits.maxSubscriptions },
        'subscription refused: too many subscriptions',
      );
      return false;
    }
    return true;
  }

  /** Delivery: never from outside a device's own subtree. */
  forward(client: Client, topic: string): boolean {
    const identity = this.identities.get(client);
    if (!identity) return false;
    return identity.kind === 'service' || deviceOfTopic(this.prefix, topic) === identity.deviceId;
  }

  #retainCleared(deviceId: string, topic: string): void {
    this.warn.warn(
      `retain:${deviceId}`,
      { device: deviceId, topic },
      'retain flag cleared: devices may not retain messages',
    );
  }
}
