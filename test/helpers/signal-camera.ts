import type { MqttClient } from 'mqtt';
import { RtpHeader, RtpPacket } from 'werift';
import { CameraPeer } from '../../agent/camera-peer.js';
import { silentLogger } from '../../core/log.js';
import type { TestServer } from './server.js';

export interface SignalCameraOptions {
  /** Send `hello` after subscribing (default true), like the reference agent. */
  hello?: boolean;
  /** Wait this long between CONNACK and SUBSCRIBE: a slow firmware (default 0). */
  subscribeDelayMs?: number;
  /** Wait this long between SUBSCRIBE and `hello` (default 0). */
  helloDelayMs?: number;
  /** Remove `a=ssrc` and `a=ssrc-group` from the answer (BUNDLE, no MID extension: RFC 8843 §9.2). */
  stripSsrc?: boolean;
}

export type Received = { type: string; session?: string; [key: string]: unknown };

/**
 * A camera written from docs/signaling.md for tests: an MQTT device that answers offers with a
 * werift send-only peer (the agent's CameraPeer) and sends synthetic H.264 (an IDR every 15
 * frames, or at once on PLI) and Opus RTP at 30 and 50 packets/s, without ffmpeg.
 */
export class SignalCamera {
  readonly received: Received[] = [];
  /** The answer SDPs as sent. */
  readonly answers: string[] = [];
  /** Packets sent per session (so a test can tell sessions apart). */
  readonly sent = new Map<string, number>();
  #peer: CameraPeer | undefined;
  #pump: NodeJS.Timeout | undefined;
  #keyframeWanted = true;
  #seq = { video: 0, audio: 0 };
  #frame = 0;

  private constructor(
    readonly client: MqttClient,
    readonly deviceId: string,
    private readonly options: SignalCameraOptions,
  ) {
    client.on('message', (_topic, payload) => this.#onMessage(JSON.parse(payload.toString()) as Received));
  }

  static async connect(
    t: TestServer,
    deviceId: string,
    secret: string,
    options: SignalCameraOptions = {},
  ): Promise<SignalCamera> {
    const client = await t.connect({ username: deviceId, password: secret, clientId: deviceId });
    const camera = new SignalCamera(client, deviceId, options);
    if (options.subscribeDelayMs) await new Promise((r) => setTimeout(r, options.subscribeDelayMs));
    await client.subscribeAsync(`lookout/${deviceId}/down/signal`, { qos: 1 });
    if (options.helloDelayMs) await new Promise((r) => setTimeout(r, options.helloDelayMs));
    if (options.hello ?? true) await camera.hello();
    return camera;
  }

  offers(): Received[] {
    return this.received.filter((m) => m.type === 'offer');
  }

  /** The session the camera answered last and is streaming in (or about to). */
  get session(): string | undefined {
    return this.#peer?.session;
  }

  hello(): Promise<unknown> {
    return this.publish({ v: 1, type: 'hello', agent: 'signal-camera', trickle: false });
  }

  publish(message: object): Promise<unknown> {
    return this.client.publishAsync(`lookout/${this.deviceId}/up/signal`, JSON.stringify(message), {
      qos: 1,
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#pump);
    await this.#peer?.close();
    await this.client.endAsync(true).catch(() => {});
  }

  #onMessage(message: Received): void {
    this.received.push(message);
    if (message.type === 'offer') this.#answer(message).catch(() => {});
    if (message.type === 'bye' && message.session === this.#peer?.session) this.#stop();
  }

  async #answer(offer: Received): Promise<void> {
    this.#stop();
    const session = offer.session!;
    const peer = new CameraPeer(
      session,
      { iceServers: [], additionalHostAddresses: [], forceRelay: false, video: 'H264', audio: 'opus' },
      {
        keyframeRequest: () => {
          this.#keyframeWanted = true;
        },
        candidate: () => {},
        state: (state) => {
          if (state === 'connected' && this.#peer === peer) this.#startPump(peer);
        },
      },
      silentLogger(),
    );
    this.#peer = peer;
    let sdp = await peer.answer(offer.sdp as string);
    if (this.options.stripSsrc) sdp = sdp.replace(/^a=ssrc(-group)?:.*\r?\n/gm, '');
    if (this.#peer !== peer) return;
    this.answers.push(sdp);
    await this.publish({ v: 1, type: 'answer', session, sdp });
  }

  #startPump(peer: CameraPeer): void {
    clearInterval(this.#pump);
    this.sent.set(peer.session, 0);
    let tick = 0;
    this.#pump = setInterval(() => {
      // 10 ms ticks: audio every 2nd (50/s), video every 3rd (~33/s).
      tick++;
      if (tick % 2 === 0) this.#send(peer, 'audio', Buffer.from([0xf8, 0xff, 0xfe]), 960);
      if (tick % 3 === 0) {
        const key = this.#keyframeWanted || this.#frame % 15 === 0;
        this.#keyframeWanted = false;
        this.#frame++;
        // One NAL per frame: IDR (type 5) or a non-IDR slice (type 1); RFC 6184 single NAL unit mode.
        this.#send(peer, 'video', Buffer.from([key ? 0x65 : 0x41, 0x88, 0x84, 0x00, 0x33]), 3000);
      }
    }, 10);
  }

  #send(peer: CameraPeer, kind: 'video' | 'audio', payload: Buffer, step: number): void {
    const sequenceNumber = (this.#seq[kind] + 1) & 0xffff;
    this.#seq[kind] = sequenceNumber;
    const header = new RtpHeader({
      sequenceNumber,
      timestamp: (sequenceNumber * step) >>> 0,
      marker: true,
      payloadType: kind === 'video' ? 96 : 111,
    });
    peer.send(kind, new RtpPacket(header, payload));
    this.sent.set(peer.session, (this.sent.get(peer.session) ?? 0) + 1);
  }

  #stop(): void {
    clearInterval(this.#pump);
    this.#pump = undefined;
    const peer = this.#peer;
    this.#peer = undefined;
    peer?.close().catch(() => {});
  }
}
