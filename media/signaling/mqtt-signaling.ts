import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../core/log.js';
import { RateLimitedLog } from '../../core/rate-limited-log.js';
import {
  type DeviceMessage,
  encodeMessage,
  type ParseResult,
  parseDeviceMessage,
  type ServerMessage,
} from './messages.js';
import { DEFAULT_SIGNAL_LIMITS, SignalLimiter, type SignalLimits } from './signal-limiter.js';

/** How the media node logs in to the broker: an ordinary MQTT client with service credentials. */
export interface SignalingConnection {
  url: string;
  username: string;
  password: string;
  clientId: string;
  topicPrefix: string;
}

export type SignalingEvents = {
  /** A message (valid or not) from a device's `up/signal`. */
  message: [deviceId: string, result: ParseResult<DeviceMessage>];
  /** A device's retained presence changed. */
  presence: [deviceId: string, online: boolean];
  /** The connection to the broker came up (again): presence will be replayed from retained status. */
  connected: [];
};

const DEVICE_LEVEL = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/**
 * The media node's side of MQTT signaling. It knows topics and payload validation, not
 * WebRTC: it subscribes to every device's `up/signal` and `status`, emits validated
 * messages, and publishes server messages to `down/signal`. Because it is a normal MQTT
 * client, the broker could be an external cluster.
 */
export class MqttSignaling extends EventEmitter<SignalingEvents> {
  readonly #client: MqttClient;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #limiter: SignalLimiter;
  readonly #limitLog: RateLimitedLog;
  readonly #now: () => number;
  #closed = false;
  readonly #presence = new Set<string>();

  private constructor(
    client: MqttClient,
    prefix: string,
    log: Logger,
    limits: SignalLimits,
    now: () => number,
  ) {
    super();
    this.#client = client;
    this.#prefix = prefix;
    this.#log = log;
    this.#now = now;
    this.#limiter = new SignalLimiter(limits, now());
    this.#limitLog = new RateLimitedLog(log, now);
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.on('error', (err) => this.#log.warn({ err: err.message }, 'signaling connection error'));
    client.on('connect', () => {
      this.#subscribe().catch((err) => this.#log.error({ err }, 'signaling subscribe failed'));
    });
  }

  /**
   * Connects and subscribes; resolves once both are done. Device messages over `limits` are
   * dropped before parsing (docs/signaling.md §Limits).
   */
  static async connect(
    connection: SignalingConnection,
    log: Logger,
    limits: SignalLimits = DEFAULT_SIGNAL_LIMITS,
    now: () => number = () => performance.now(),
  ): Promise<MqttSignaling> {
    const client = mqtt.connect(connection.url, {
      username: connection.username,
      password: connection.password,
      clientId: connection.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
    });
    const signaling = new MqttSignaling(client, connection.topicPrefix, log, limits, now);
    // The constructor's 'connect' handler subscribes, then emits 'connected'.
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      client.once('error', fail);
      signaling.once('connected', () => {
        client.off('error', fail);
        resolve();
      });
    });
    return signaling;
  }

  /** Publishes a server message to the device's `down/signal` (QoS 1). Never throws. */
  send(deviceId: string, message: ServerMessage): void {
    if (this.#closed) return;
    this.#client.publish(
      `${this.#prefix}/${deviceId}/down/signal`,
      encodeMessage(message),
      { qos: 1 },
      (err) => {
        if (err)
          this.#log.warn({ device: deviceId, err: err.message }, 'could not publish signaling message');
      },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Graceful first, so a last `bye` still goes out; forced if the broker does not answer.
    const timer = setTimeout(() => this.#client.end(true), 2000);
    await this.#client.endAsync(false).catch(() => {});
    clearTimeout(timer);
  }

  /** Devices whose last status said online, as seen so far. */
  online(): ReadonlySet<string> {
    return this.#presence;
  }

  async #subscribe(): Promise<void> {
    await this.#client.subscribeAsync({
      [`${this.#prefix}/+/up/signal`]: { qos: 1 },
      [`${this.#prefix}/+/status`]: { qos: 1 },
    });
    this.emit('connected');
  }

  #onMessage(topic: string, payload: Buffer): void {
    const levels = topic.split('/');
    const deviceId = levels[1];
    if (levels.length < 3 || levels[0] !== this.#prefix || !deviceId || !DEVICE_LEVEL.test(deviceId)) return;
    const rest = levels.slice(2).join('/');
    try {
      if (rest === 'status') {
        const online = parseStatus(payload);
        if (online === undefined) return;
        // Remembered, for a listener attached after the broker replayed statuses on SUBSCRIBE
        // (they can arrive before connect() resolves). Only registered devices have a status
        // topic (broker ACL), so this is bounded by the registry.
        if (online) this.#presence.add(deviceId);
        else this.#presence.delete(deviceId);
        this.emit('presence', deviceId, online);
      } else if (rest === 'up/signal') {
        const verdict = this.#limiter.admit(deviceId, this.#now());
        if (verdict !== 'ok') {
          this.#limitLog.warn(
            verdict === 'device-limit' ? `signal-flood:${deviceId}` : 'signal-flood:all',
            { device: deviceId, limit: verdict },
            verdict === 'device-limit'
              ? 'device sends signaling messages too fast: dropped'
              : 'devices together send signaling messages too fast: dropped',
          );
          return;
        }
        this.emit('message', deviceId, parseDeviceMessage(payload));
      }
    } catch (err) {
      // A listener bug must not take the MQTT client (and every camera's signaling) down.
      this.#log.error({ err, device: deviceId, topic }, 'signaling listener threw');
    }
  }
}

function parseStatus(payload: Buffer): boolean | undefined {
  try {
    const status = JSON.parse(payload.toString('utf8')) as { online?: unknown };
    return typeof status.online === 'boolean' ? status.online : undefined;
  } catch {
    return undefined;
  }
}
