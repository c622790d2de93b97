import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../core/log.js';
import type { EdgeConfig } from '../edge-config/index.js';
import {
  type DeviceMessage,
  encodeMessage,
  type IceServer,
  PROTOCOL_VERSION,
  parseServerMessage,
} from '../media/signaling/messages.js';
import { CameraPeer } from './camera-peer.js';
import type { RtpSource } from './rtp-source.js';

export interface AgentOptions {
  /** Extra ICE host addresses (127.0.0.1 for loopback-only setups). */
  additionalHostAddresses: string[];
  forceRelay: boolean;
  agentName: string;
}

/** Reconnect back-off: quick for network trouble, slow when the broker refuses our credentials (docs/mqtt-topics.md). */
function reconnectDelay(attempt: number, refused: boolean): number {
  const base = refused ? 30_000 : 1000;
  const max = refused ? 600_000 : 30_000;
  const delay = Math.min(max, base * 2 ** Math.min(attempt, 16));
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

/**
 * The reference camera agent: holds only its flashed edge config, keeps an MQTT session
 * up forever (with back-off), answers the server's offers and streams its source while a
 * session is open.
 */
export class CameraAgent {
  readonly #config: EdgeConfig;
  readonly #source: RtpSource;
  readonly #log: Logger;
  readonly #options: AgentOptions;
  readonly #down: string;
  readonly #up: string;
  #client: MqttClient | undefined;
  #peer: CameraPeer | undefined;
  #attempt = 0;
  /** Which of the edge config's brokers (`url`, then `fallbackUrls`) the next connection tries. */
  #broker = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  /** Peers of ended sessions still closing (a close waits for gathering, see closeAfterGathering). */
  readonly #closingPeers = new Set<Promise<void>>();
  #closed = false;

  constructor(config: EdgeConfig, source: RtpSource, options: AgentOptions, log: Logger) {
    this.#config = config;
    this.#source = source;
    this.#options = options;
    this.#log = log;
    const root = `${config.mqtt.topicPrefix}/${config.deviceId}`;
    this.#down = `${root}/down/signal`;
    this.#up = `${root}/up/signal`;
    source.on('rtp', (kind, packet) => this.#peer?.send(kind, packet));
  }

  start(): void {
    this.#connect();
  }

  get streaming(): boolean {
    return this.#peer !== undefined;
  }

  /** Says bye to an open session, disconnects, stops ffmpeg. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    if (this.#peer)
      this.#send({ v: PROTOCOL_VERSION, type: 'bye', session: this.#peer.session, reason: 'shutdown' });
    await this.#endSession();
    await Promise.all(this.#closingPeers);
    await this.#client?.endAsync(false).catch(() => {});
    this.#source.close();
  }

  #connect(): void {
    if (this.#closed) return;
    const { mqtt: m } = this.#config;
    // The brokers of a cluster in turn: after a connection that failed or dropped, the next one.
    const brokers = [m.url, ...(m.fallbackUrls ?? [])];
    const url = brokers[this.#broker % brokers.length]!;
    const client = mqtt.connect(url, {
      username: m.username,
      password: m.password,
      clientId: m.clientId,
      keepalive: m.keepaliveSeconds,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0, // our own back-off below
      connectTimeout: 10_000,
      ...(m.caCert ? { ca: m.caCert } : {}),
    });
    this.#client = client;
    let refused = false;
    client.on('connect', () => {
      this.#attempt = 0;
      this.#log.info({ broker: url }, 'connected to the broker');
      client
        .subscribeAsync(this.#down, { qos: 1 })
        .then(() =>
          this.#send({ v: PROTOCOL_VERSION, type: 'hello', agent: this.#options.agentName, trickle: true }),
        )
        .catch((err) => this.#log.error({ err: err.message }, 'subscribe failed'));
    });
    client.on('message', (_topic, payload) => this.#onMessage(payload));
    client.on('error', (err: Error & { code?: number }) => {
      refused = typeof err.code === 'number' && err.code >= 1 && err.code <= 5;
      this.#log.warn(
        { err: err.message, code: err.code },
        refused ? 'broker refused the login' : 'broker connection error',
      );
    });
    client.on('close', () => {
      if (this.#client !== client) return;
      this.#endSession().catch(() => {});
      client.removeAllListeners();
      client.end(true);
      if (this.#closed) return;
      const delay = reconnectDelay(this.#attempt++, refused);
      // A refused login is the cluster's answer (one registry): the same broker again, later.
      if (!refused) this.#broker++;
      this.#log.info({ retryInMs: delay }, 'disconnected from the broker; reconnecting');
      this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    });
  }

  #send(message: DeviceMessage): void {
    this.#client?.publish(this.#up, encodeMessage(message), { qos: 1 });
  }

  #onMessage(payload: Buffer): void {
    const parsed = parseServerMessage(payload);
    if (!parsed.ok) {
      this.#log.warn({ code: parsed.code, reason: parsed.reason }, 'bad signaling message from the server');
      this.#send({
        v: PROTOCOL_VERSION,
        type: 'error',
        code: parsed.code,
        message: parsed.reason,
        ...(parsed.session ? { session: parsed.session } : {}),
      });
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'offer':
        this.#onOffer(message.session, message.sdp, message.iceServers).catch((err) => {
          this.#log.error({ err: (err as Error).message }, 'could not answer the offer');
          this.#send({
            v: PROTOCOL_VERSION,
            type: 'error',
            session: message.session,
            code: 'SDP_REJECTED',
            message: String((err as Error).message).slice(0, 500),
          });
          this.#endSession().catch(() => {});
        });
        return;
      case 'candidate':
        if (this.#peer?.session === message.session)
          this.#peer.addCandidate(message.candidate).catch(() => {});
        return;
      case 'bye':
        if (this.#peer?.session === message.session) {
          this.#log.info({ session: message.session, reason: message.reason }, 'session ended by the server');
          this.#endSession().catch(() => {});
        }
        return;
      case 'error':
        this.#log.warn(
          { session: message.session, code: message.code, message: message.message },
          'server reported an error',
        );
        return;
    }
  }

  async #onOffer(session: string, sdp: string, iceServers: IceServer[]): Promise<void> {
    // One session at a time: a new offer replaces the old one at once, even while the old peer's
    // close still waits for its gathering to settle.
    this.#endSession().catch(() => {});
    const peer = this.#startPeer(session, iceServers);
    const answer = await peer.answer(sdp);
    if (this.#peer !== peer) return;
    this.#send({ v: PROTOCOL_VERSION, type: 'answer', session, sdp: answer });
    this.#source.start();
    this.#log.info({ session }, 'answered; streaming');
  }

  #startPeer(session: string, iceServers: IceServer[]): CameraPeer {
    const peer = new CameraPeer(
      session,
      {
        iceServers,
        additionalHostAddresses: this.#options.additionalHostAddresses,
        forceRelay: this.#options.forceRelay,
        video: this.#config.stream.video.codec,
        audio: this.#config.stream.audio.codec,
        h264Profile: this.#config.stream.video.h264Profile,
      },
      {
        keyframeRequest: () => this.#source.forceKeyframe(),
        candidate: (candidate) => {
          if (this.#peer === peer) this.#send({ v: PROTOCOL_VERSION, type: 'candidate', session, candidate });
        },
        state: (state) => {
          this.#log.info({ session, state }, 'peer connection state');
          if (state !== 'connected' && this.#peer === peer) {
            this.#send({ v: PROTOCOL_VERSION, type: 'bye', session, reason: 'ice-failed' });
            this.#endSession().catch(() => {});
          }
        },
      },
      this.#log.child({ session }),
    );
    this.#peer = peer;
    return peer;
  }

  async #endSession(): Promise<void> {
    const peer = this.#peer;
    this.#peer = undefined;
    this.#source.stop();
    if (!peer) return;
    const closing = peer.close();
    this.#closingPeers.add(closing);
    try {
      await closing;
    } finally {
      this.#closingPeers.delete(closing);
    }
  }
}
