import dgram from 'node:dgram';
import type { Logger } from '../core/log.js';
import type { PacketQueue, QueuedPacket } from './packet-queue.js';
import { type AudioCodec, audioPayloadType, VIDEO_PT, withPayloadType } from './rtp-input.js';

/** Where one ffmpeg session listens. */
export interface ForwardTarget {
  videoPort: number;
  audioPort: number | undefined;
  audio: AudioCodec | undefined;
}

/**
 * Paced flush (issue 9, item 7): at most this many queued packets per tick. 25 every 10 ms is
 * 2,500 packets/s, several times a 2 Mbit/s camera's rate, so a backlog drains in a fraction
 * of its own length, while ffmpeg's socket and 256-packet reorder queue are never handed
 * thousands at once.
 */
const PACE_BATCH = 25;
const PACE_MS = 10;

/**
 * Sends a recorder's RTP to its ffmpeg over loopback UDP: the queue collected while ffmpeg
 * started goes first, in paced batches, and live packets queue behind it until it is empty,
 * so ffmpeg sees them in order. Owns its socket; close() releases it.
 */
export class RtpForwarder {
  readonly #socket = dgram.createSocket('udp4');
  #target: ForwardTarget | undefined;
  #queue: PacketQueue | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger) {
    this.#socket.on('error', (err) => log.warn({ err }, 'recorder socket error'));
  }

  /** Starts forwarding to `target`, first draining `queue` (which keeps taking live packets). */
  start(target: ForwardTarget, queue: PacketQueue): void {
    this.stop();
    this.#target = target;
    this.#queue = queue;
    this.#drain();
  }

  /** Whether live packets must go through the queue (it still holds older ones). */
  get draining(): boolean {
    return this.#queue !== undefined;
  }

  /** Sends one live packet now (call only while not draining). */
  send(packet: QueuedPacket): void {
    const target = this.#target;
    if (!target) return;
    if (packet.kind === 'video') {
      this.#socket.send(withPayloadType(packet.bytes, VIDEO_PT), target.videoPort, '127.0.0.1');
    } else if (target.audio !== undefined && target.audioPort !== undefined) {
      this.#socket.send(
        withPayloadType(packet.bytes, audioPayloadType(target.audio)),
        target.audioPort,
        '127.0.0.1',
      );
    }
  }

  /** Stops sending (the session ends); the queue is left to its owner. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#target = undefined;
    this.#queue = undefined;
  }

  close(): void {
    this.stop();
    this.#socket.close();
  }

  #drain(): void {
    const queue = this.#queue;
    if (!queue) return;
    for (const packet of queue.take(PACE_BATCH)) this.send(packet);
    if (queue.length === 0) {
      this.#queue = undefined;
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, PACE_MS);
  }
}
