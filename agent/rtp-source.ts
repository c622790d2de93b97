import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import { spawnTied, stopTied } from '../core/tied-process.js';
import type { EdgeConfig } from '../edge-config/index.js';
import { ffmpegPath } from '../media/ffmpeg-path.js';
import { CAMERA_RECEIVE_BUFFER_BYTES } from '../media/receive-buffers.js';
import { RtpContinuity } from '../media/rtp-continuity.js';
import { ffmpegArgs, type SourceSpec } from './ffmpeg-args.js';

export type RtpSourceEvents = {
  rtp: [kind: 'video' | 'audio', packet: RtpPacket];
};

/** Least time between two encoder restarts asked for by keyframe requests; later requests wait, never vanish. */
const KEYFRAME_RESTART_INTERVAL_MS = 500;

/**
 * The camera's media: a supervised ffmpeg writing RTP to two loopback UDP sockets. The
 * stream stays continuous (sequence numbers, timestamps) across ffmpeg restarts, which is
 * also how a keyframe is forced for encoded sources: a fresh encoder starts with an IDR.
 * ffmpeg is restarted with back-off when it dies, and is tied to this process (core/tied-process.ts).
 */
export class RtpSource extends EventEmitter<RtpSourceEvents> {
  readonly #video: dgram.Socket;
  readonly #audio: dgram.Socket;
  readonly #videoContinuity = new RtpContinuity(90_000);
  readonly #audioContinuity: RtpContinuity;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  #running = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastKeyframeRestart = 0;
  #deferredKeyframe: NodeJS.Timeout | undefined;
  /** The running encoder has sent video: before that, its first frame (a keyframe) is still to come. */
  #encoderSentVideo = false;

  private constructor(
    private readonly source: SourceSpec,
    private readonly stream: EdgeConfig['stream'],
    video: dgram.Socket,
    audio: dgram.Socket,
    log: Logger,
  ) {
    super();
    this.#video = video;
    this.#audio = audio;
    // G.711 runs an 8 kHz RTP clock, Opus 48 kHz: carry encoder restarts across in the right units.
    this.#audioContinuity = new RtpContinuity(stream.audio.codec === 'opus' ? 48_000 : 8000);
    this.#log = log;
    video.on('message', (buf) => this.#onPacket('video', buf));
    audio.on('message', (buf) => this.#onPacket('audio', buf));
  }

  static async open(source: SourceSpec, stream: EdgeConfig['stream'], log: Logger): Promise<RtpSource> {
    const bind = async () => {
      // The encoder's RTP waits here while the agent's event loop is busy: a kernel-default
      // buffer (208 KiB) loses a keyframe burst to a short stall (Linux caps this at rmem_max).
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: CAMERA_RECEIVE_BUFFER_BYTES });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      return socket;
    };
    return new RtpSource(source, stream, await bind(), await bind(), log);
  }

  /** Starts ffmpeg (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#failures = 0;
    this.#spawn();
  }

  /** Stops ffmpeg (idempotent); the sockets stay open for a later start(). */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#deferredKeyframe);
    this.#deferredKeyframe = undefined;
    this.#kill();
  }

  /**
   * A viewer needs a keyframe: restart the encoder (rate-limited) unless the video is copied, or
   * the encoder has not sent its first frame yet (that frame is a keyframe). Restarting an encoder
   * still starting, which takes longer than the rate limit on a loaded machine, kept a viewer
   * without a picture for seconds (D26).
   */
  forceKeyframe(): void {
    if (!this.#running || this.source.kind === 'rtsp' || this.#deferredKeyframe) return;
    if (!this.#encoderSentVideo) {
      this.#log.debug('keyframe requested: the starting encoder sends one first');
      return;
    }
    const wait = this.#lastKeyframeRestart + KEYFRAME_RESTART_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.#deferredKeyframe = setTimeout(() => {
        this.#deferredKeyframe = undefined;
        this.forceKeyframe();
      }, wait);
      return;
    }
    this.#lastKeyframeRestart = Date.now();
    this.#log.debug('keyframe requested: restarting the encoder');
    this.#kill();
    this.#spawn();
  }

  close(): void {
    this.stop();
    this.#video.close();
    this.#audio.close();
  }

  #spawn(): void {
    const args = ffmpegArgs(this.source, this.stream, {
      video: this.#video.address().port,
      audio: this.#audio.address().port,
    });
    // Tied: ffmpeg ends with the agent even if the agent is killed with SIGKILL.
    const child = spawnTied(ffmpegPath(), args);
    this.#child = child;
    this.#encoderSentVideo = false;
    const started = Date.now();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      for (const line of text.split('\n'))
        if (line.trim()) this.#log.warn({ ffmpeg: line.trim().slice(0, 500) }, 'ffmpeg');
    });
    child.on('error', (err) => this.#log.error({ err: err.message }, 'ffmpeg could not start'));
    child.on('exit', (code, signal) => {
      if (this.#child !== child) return; // replaced on purpose
      this.#child = undefined;
      if (!this.#running) return;
      this.#failures = Date.now() - started > 10_000 ? 1 : this.#failures + 1;
      const delay = Math.min(30_000, 500 * 2 ** (this.#failures - 1));
      this.#log.warn({ code, signal, retryInMs: delay }, 'ffmpeg exited; restarting');
      this.#restartTimer = setTimeout(() => {
        if (this.#running) this.#spawn();
      }, delay);
    });
  }

  #kill(): void {
    const child = this.#child;
    this.#child = undefined;
    // At once: a restart must not leave the old encoder sending beside the new one.
    if (child) stopTied(child, { now: true }).catch(() => {});
  }

  #onPacket(kind: 'video' | 'audio', buf: Buffer): void {
    if (!this.#running || buf.length < 12) return;
    let packet: RtpPacket;
    try {
      packet = RtpPacket.deSerialize(buf);
    } catch {
      return;
    }
    if (kind === 'video') this.#encoderSentVideo = true;
    const mapped = (kind === 'video' ? this.#videoContinuity : this.#audioContinuity).map(packet.header);
    packet.header.sequenceNumber = mapped.sequenceNumber;
    packet.header.timestamp = mapped.timestamp;
    this.emit('rtp', kind, packet);
  }
}
