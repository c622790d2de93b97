import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { SafeEmitter } from '../core/safe-emitter.js';
import type { MediaKind, UdpTarget } from './boundary/protocol.js';
import { parseRtp, type TapPacket } from './rtp-bytes.js';

/**
 * Why a camera's media stopped: the camera's session ended, the worker holding it died, or (in a
 * cluster) this node gave the camera up or lost its lease.
 */
export type EndReason = 'camera' | 'media-worker-died' | 'lease-released' | 'lease-lost';

export type FeedEvents = {
  /** One packet of the camera's, as it sent it; `mimeType` is its codec. */
  rtp: [kind: MediaKind, mimeType: string, packet: TapPacket];
  ended: [reason: EndReason];
};

/** What a feed asks of the media plane (the router). */
export interface FeedPlane {
  addTap(cameraId: string, tapId: string, video: UdpTarget, audio: UdpTarget): void;
  removeTap(cameraId: string, tapId: string): void;
  requestKeyframe(cameraId: string): void;
}

/** Receive buffer asked for on the intake sockets (the kernel caps it at net.core.rmem_max). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Datagrams of a payload type not announced yet, held until its announcement (which travels over
 * the worker's IPC channel, the datagrams over UDP: either may come first). Past this, dropped.
 */
const MAX_HELD = 512;

/**
 * A camera's media in the control plane, for consumers such as the recorder: while anyone
 * holds demand, the worker that holds the camera sends its RTP (an RTP tap) to two loopback
 * sockets of ours, one per kind, and each datagram is emitted with the camera's codec. Plain
 * datagrams are all that cross the boundary. Owns its sockets; they close with the last demand.
 */
export class CameraFeed extends SafeEmitter<FeedEvents> {
  readonly #demand = new Set<string>();
  readonly #limitLog: RateLimitedLog;
  #sockets: Record<MediaKind, dgram.Socket> | undefined;
  #tapId: string | undefined;
  /** The codec of each payload type of the camera's current session; undefined while it is not streaming. */
  #codecs: Map<number, string> | undefined;
  #held: Array<{ kind: MediaKind; packet: TapPacket }> = [];

  constructor(
    readonly cameraId: string,
    private readonly plane: FeedPlane,
    log: Logger,
  ) {
    super(log);
    this.#limitLog = new RateLimitedLog(log, () => performance.now(), 60_000);
  }

  /** Something needs the camera's media: it streams, and its RTP comes here. */
  addDemand(holder: string): void {
    this.#demand.add(holder);
    if (this.#demand.size === 1) this.#open();
  }

  removeDemand(holder: string): void {
    if (!this.#demand.delete(holder) || this.#demand.size > 0) return;
    if (this.#tapId) this.plane.removeTap(this.cameraId, this.#tapId);
    this.#tapId = undefined;
    for (const socket of Object.values(this.#sockets ?? {})) socket.close();
    this.#sockets = undefined;
  }

  /** Datagrams held for want of their payload type's announcement (for tests and stats). */
  get held(): number {
    return this.#held.length;
  }

  get wanted(): boolean {
    return this.#demand.size > 0;
  }

  requestKeyframe(): void {
    this.plane.requestKeyframe(this.cameraId);
  }

  /** The tap (re)placed on a worker: where it must send. Undefined while nobody wants the media. */
  tap(): { tapId: string; video: UdpTarget; audio: UdpTarget } | undefined {
    const sockets = this.#sockets;
    if (!sockets || !this.#tapId) return undefined;
    const target = (s: dgram.Socket) => ({ address: '127.0.0.1', port: s.address().port });
    return { tapId: this.#tapId, video: target(sockets.video), audio: target(sockets.audio) };
  }

  /** The camera streams (again), its payload types carrying these codecs. */
  live(payloadTypes: Array<{ payloadType: number; mimeType: string }>): void {
    this.#codecs = new Map(payloadTypes.map((p) => [p.payloadType, p.mimeType]));
    const held = this.#held;
    this.#held = [];
    for (const { kind, packet } of held) this.#deliver(kind, packet);
  }

  ended(reason: EndReason): void {
    this.#held = [];
    if (!this.#codecs) return; // was not streaming: nothing ended
    this.#codecs = undefined;
    this.emit('ended', reason);
  }

  #deliver(kind: MediaKind, packet: TapPacket): void {
    const mimeType = this.#codecs?.get(packet.payloadType);
    if (mimeType) {
      this.emit('rtp', kind, mimeType, packet);
      return;
    }
    if (this.#held.length < MAX_HELD) this.#held.push({ kind, packet });
    else this.#limitLog.warn('unannounced', { kind }, 'RTP tap datagrams of an unknown payload type dropped');
  }

  #open(): void {
    const sockets = { video: this.#socket('video'), audio: this.#socket('audio') };
    this.#sockets = sockets;
    let bound = 0;
    for (const socket of Object.values(sockets)) {
      socket.bind(0, '127.0.0.1', () => {
        try {
          socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
        } catch {
          // Capped by the kernel: the default buffer serves a loopback hop.
        }
        // The tap exists once both sockets have their ports (tap() is undefined until then).
        if (++bound === 2 && this.#sockets === sockets) {
          this.#tapId = randomBytes(8).toString('base64url');
          const tap = this.tap()!;
          this.plane.addTap(this.cameraId, tap.tapId, tap.video, tap.audio);
        }
      });
    }
  }

  #socket(kind: MediaKind): dgram.Socket {
    const socket = dgram.createSocket('udp4');
    socket.on('error', (err) => this.#limitLog.warn('socket', { err: err.message }, 'RTP tap intake error'));
    socket.on('message', (bytes, from) => {
      // Only the worker's tap socket sends here, from loopback; anything else is dropped.
      if (from.address !== '127.0.0.1') return;
      const packet = parseRtp(bytes);
      if (!packet) {
        this.#limitLog.warn('malformed', { kind }, 'malformed RTP on the tap intake (dropped)');
        return;
      }
      this.#deliver(kind, packet);
    });
    return socket;
  }
}
