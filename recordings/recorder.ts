import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { EndReason, TapPacket } from '../media/index.js';
import { isKeyframeStart } from '../media/keyframe.js';
import { isDiskFullError } from './disk-space.js';
import { DiskWatch } from './disk-watch.js';
import type { Segmenter } from './ffmpeg.js';
import { FfmpegLog } from './ffmpeg-log.js';
import { type IncomingPacket, PacketQueue, type PushResult } from './packet-queue.js';
import { RecorderIndex } from './recorder-index.js';
import { launchSegmenter } from './recorder-launch.js';
import {
  DEFAULT_DISK,
  type RecordedStream,
  type RecorderOptions,
  type Session,
  type State,
} from './recorder-types.js';
import { RtpForwarder } from './rtp-forwarder.js';
import {
  type AudioCodec,
  audioCodecOf,
  ParameterSetCollector,
  type VideoCodec,
  videoCodecOf,
} from './rtp-input.js';

export type { RecordedStream, RecorderOptions } from './recorder-types.js';

const AUDIO_WAIT_MS = 500;
let recorders = 0;

/**
 * Records one camera: adds demand to its Stream so it streams, waits for a keyframe,
 * starts ffmpeg (Segmenter) on loopback RTP, forwards packets, indexes segments as they
 * finish, and keeps gaps explicit (docs/recording.md): `camera-offline` while the camera is
 * not streaming, `media-worker-died` after the media worker holding the camera died (until it
 * streams from a new one), `recorder-fault` while ffmpeg is down, `disk-full` while the disk has no
 * room (recording pauses and resumes by itself), `server-stopped` after a clean shutdown.
 * ffmpeg is restarted with back-off when it dies.
 */
export class Recorder {
  #state: State = { kind: 'idle' };
  readonly #index: RecorderIndex;
  #failures = 0;
  #lastStampMs = 0;
  #streaming = false;
  readonly #forwarder: RtpForwarder;
  readonly #ffmpegLog: FfmpegLog;
  readonly #params = new ParameterSetCollector();
  readonly #disk: DiskWatch;
  #lastAudio: { codec: AudioCodec; at: number } | undefined;
  #closing: Promise<void> | undefined;
  /** Unique per recorder: a new one may start while the last one still finishes its ffmpeg. */
  readonly #demand = `recorder:${++recorders}`;
  /** Work in the background (ffmpeg stopping, index retries); close() waits for it. */
  readonly #pending = new Set<Promise<void>>();
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #limitedLog: RateLimitedLog;
  readonly #deviceDir: string;
  readonly #onRtp = (kind: 'video' | 'audio', mimeType: string, packet: TapPacket) =>
    this.#rtp(kind, mimeType, packet);
  readonly #onEnded = (reason: EndReason) => this.#cameraEnded(reason);

  constructor(
    private readonly stream: RecordedStream,
    private readonly options: RecorderOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    this.#limitedLog = new RateLimitedLog(options.log, this.#now, 60_000);
    this.#deviceDir = path.join(options.dir, options.deviceId);
    this.#index = new RecorderIndex(options.store, options.deviceId, options.log, this.#now, options.node);
    this.#forwarder = new RtpForwarder(this.#log);
    this.#ffmpegLog = new FfmpegLog(this.#log.child({ part: 'ffmpeg' }), this.#now);
    this.#disk = new DiskWatch(
      options.dir,
      { ...DEFAULT_DISK, ...options.disk },
      { full: (detail) => this.#diskFull(detail), recovered: (free) => this.#diskRecovered(free) },
    );
    try {
      mkdirSync(this.#deviceDir, { recursive: true });
    } catch (err) {
      // A full disk: the launch tries again; the disk check pauses recording meanwhile.
      this.#log.warn({ err }, 'cannot create the camera folder yet');
    }
    this.#index.openGap('camera-offline');
    stream.on('rtp', this.#onRtp);
    stream.on('ended', this.#onEnded);
    stream.addDemand(this.#demand);
    stream.requestKeyframe();
    this.#disk.start();
    this.#log.info({ dir: this.#deviceDir }, 'recording started');
  }

  /**
   * Stops recording: ffmpeg finishes the segment it writes. With `gap`, that gap is left
   * open from the end of the last segment, or from now when nothing was being recorded
   * (`server-stopped`: the server shuts down; the next start closes it).
   * Idempotent.
   */
  close(options: { gap?: 'server-stopped' } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const previous = this.#state;
      this.#disk.close();
      if (previous.kind === 'backoff') clearTimeout(previous.timer);
      if (previous.kind === 'collecting') clearTimeout(previous.timer);
      if (previous.kind === 'recording') {
        // Keep feeding ffmpeg while it stops: it ends cleanly (last fragment, trailer, segment
        // list entry) on the first signal only between packets; a starved one needs a second.
        this.#stopInBackground(previous.session);
      } else {
        this.#state = { kind: 'closed' };
        if (previous.kind === 'starting') this.#stopInBackground(previous.session);
      }
      while (this.#pending.size > 0) await Promise.all(this.#pending);
      this.#state = { kind: 'closed' };
      this.stream.off('rtp', this.#onRtp);
      this.stream.off('ended', this.#onEnded);
      this.stream.removeDemand(this.#demand);
      if (options.gap) {
        // From where the recording ends (ffmpeg trails the clock on a loaded machine), so the
        // timeline has no blank hole between the last segment and the gap.
        const ended = previous.kind === 'recording' ? await this.#index.lastEnd() : undefined;
        this.#index.openGap(options.gap, Math.min(this.#now(), ended ?? Number.POSITIVE_INFINITY));
      } else this.#index.closeGap();
      await this.#index.retryAll(this.options.dir);
      this.#forwarder.close();
      this.#ffmpegLog.close();
      this.#log.info('recording stopped');
    })();
    return this.#closing;
  }

  /** Test and fault hook: the running ffmpeg's tied wrapper process. */
  get segmenter(): Segmenter | undefined {
    const state = this.#state;
    return state.kind === 'starting' || state.kind === 'recording' ? state.session.segmenter : undefined;
  }

  /** What the recorder is doing (for tests and status). */
  get state(): State['kind'] {
    return this.#state.kind;
  }

  #rtp(kind: 'video' | 'audio', mimeType: string, packet: TapPacket): void {
    this.#streaming = true;
    const state = this.#state;
    const audioCodec = kind === 'audio' ? audioCodecOf(mimeType) : undefined;
    if (audioCodec) this.#lastAudio = { codec: audioCodec, at: this.#now() };
    switch (state.kind) {
      case 'idle':
        if (kind !== 'video') return;
        this.#state = { kind: 'waiting-keyframe' };
        this.stream.requestKeyframe();
        this.#rtp(kind, mimeType, packet);
        return;
      case 'waiting-keyframe': {
        if (kind !== 'video') return;
        const video = videoCodecOf(mimeType);
        if (!video) {
          this.#unsupported(mimeType);
          return;
        }
        if (!isKeyframeStart(mimeType, packet.payload)) return;
        this.#params.add(packet.payload);
        const queue = new PacketQueue();
        queue.push(this.#incoming(kind, mimeType, packet), true);
        if (this.#audioRecent()) {
          this.#beginSession(video, this.#lastAudio!.codec, queue);
          return;
        }
        // A camera's audio may start just after its video (the reference agent restarts
        // both on a keyframe request): hold the start a moment so the file has sound.
        const timer = setTimeout(() => {
          const current = this.#state;
          if (current.kind === 'collecting') this.#beginSession(current.video, undefined, current.queue);
        }, AUDIO_WAIT_MS);
        this.#state = { kind: 'collecting', video, queue, timer };
        return;
      }
      case 'collecting':
        if (kind === 'video') this.#params.add(packet.payload);
        this.#queued(state.queue.push(this.#incoming(kind, mimeType, packet), true));
        if (audioCodec) {
          clearTimeout(state.timer);
          this.#beginSession(state.video, audioCodec, state.queue);
        }
        return;
      case 'starting':
        if (kind === 'video') this.#params.add(packet.payload);
        // ffmpeg is not listening yet: keep only what follows the latest keyframe.
        this.#queued(state.session.queue.push(this.#incoming(kind, mimeType, packet), true));
        return;
      case 'recording':
        if (this.#forwarder.draining) {
          this.#queued(state.session.queue.push(this.#incoming(kind, mimeType, packet), false));
        } else {
          this.#forwarder.send({ kind, bytes: packet.bytes });
        }
        return;
      default:
        return;
    }
  }

  #incoming(kind: 'video' | 'audio', mimeType: string, packet: TapPacket): IncomingPacket {
    return {
      kind,
      bytes: packet.bytes,
      keyframeStart: kind === 'video' && isKeyframeStart(mimeType, packet.payload),
      timestamp: packet.timestamp,
      at: this.#now(),
    };
  }

  #queued(result: PushResult): void {
    if (result === 'overflow')
      this.#limitedLog.warn('overflow', {}, 'ffmpeg is slow to take packets; dropped to the latest keyframe');
  }

  #audioRecent(): boolean {
    return this.#lastAudio !== undefined && this.#now() - this.#lastAudio.at < 2000;
  }

  /** No recording of this camera's session: one error line and one fault gap, no ffmpeg. */
  #unsupported(mimeType: string): void {
    this.#state = { kind: 'unsupported' };
    this.#log.error(
      { mimeType },
      'cannot record this camera: recordings are MP4 with H.264 video; set the camera to H.264',
    );
    this.#index.openGap('recorder-fault');
    this.options.onFault?.('unsupported-codec');
  }

  #beginSession(video: VideoCodec, audio: AudioCodec | undefined, queue: PacketQueue): void {
    const startMs = queue.startsAt ?? this.#now();
    // Names the session's files. Milliseconds, and never the last session's stamp again: two
    // sessions within one second (a camera reconnecting at once) must not share file names.
    const stampMs = Math.max(startMs, this.#lastStampMs + 1);
    this.#lastStampMs = stampMs;
    const stamp = new Date(stampMs).toISOString().replace(/[-:]/g, '');
    // The segmenter and ports are set by #launch once ffmpeg is started.
    const session: Session = {
      segmenter: undefined as unknown as Segmenter,
      videoPort: 0,
      audioPort: undefined,
      audio,
      video,
      startMs,
      stamp,
      sdpFile: path.join(this.#deviceDir, `.${stamp}.sdp`),
      current: undefined,
      queue,
      stopping: false,
    };
    this.#state = { kind: 'starting', session };
    this.#launch(session).catch((err) => this.#fault(session, (err as Error).message, err));
  }

  async #launch(session: Session): Promise<void> {
    const wanted = () => this.#state.kind === 'starting' && this.#state.session === session;
    const listening = await launchSegmenter(
      {
        deviceDir: this.#deviceDir,
        stamp: session.stamp,
        sdpFile: session.sdpFile,
        video: session.video,
        audio: session.audio,
        parameterSets: this.#params.complete ? { sps: this.#params.sps!, pps: this.#params.pps! } : undefined,
        segmentSeconds: this.options.segmentSeconds,
        fragmentMs: this.options.fragmentMs,
        log: this.#log.child({ part: 'ffmpeg' }),
        onStderr: (line) => this.#ffmpegLog.line(line),
        onSegment: (file, start, end) => this.#segmentDone(session, file, start, end),
        onExit: (info) => {
          if (!info.requested) this.#fault(session, info.error ?? 'ffmpeg exited');
        },
        wanted,
        now: this.#now,
        ...(this.options.ports ? { ports: this.options.ports } : {}),
      },
      (launched) => Object.assign(session, launched),
    );
    if (!listening || !wanted()) return;
    // The session starts with the queue's first keyframe (the latest one before ffmpeg listened).
    session.startMs = session.queue.startsAt ?? session.startMs;
    this.#state = { kind: 'recording', session };
    this.#openSegment(session, 0, session.startMs);
    this.#index.closeGap(session.startMs);
    this.#forwarder.start(session, session.queue);
    this.#log.info(
      { video: session.video, audio: session.audio ?? 'none', pid: await session.segmenter.pidReady },
      'recorder running',
    );
  }

  #openSegment(session: Session, index: number, startMs: number): void {
    // Unindexed (the registry refuses the write: rowId resolves undefined): startup recovery adopts the file.
    session.current = { index, startMs, rowId: this.#index.openSegment(session, index, startMs) };
  }

  #segmentDone(session: Session, file: string, startSeconds: number, endSeconds: number): void {
    const current = session.current;
    if (!current) return;
    // A finished segment proves ffmpeg works for this camera: the next failure backs off from 1 s.
    this.#failures = 0;
    let bytes = 0;
    try {
      bytes = statSync(path.join(this.#deviceDir, path.basename(file))).size;
    } catch {
      // Reported but not on disk: keep the row; recovery marks it missing.
    }
    const durationMs = Math.round((endSeconds - startSeconds) * 1000);
    const endMs = this.#index.finishSegment(current.rowId, current.startMs, durationMs, bytes);
    session.current = undefined;
    if (!session.stopping && session.segmenter.running) this.#openSegment(session, current.index + 1, endMs);
    this.options.onSegment?.();
  }

  #stopSession(session: Session): Promise<void> {
    session.stopped ??= (async () => {
      session.stopping = true;
      if (session.segmenter) await session.segmenter.stop();
      if (this.#state.kind !== 'recording' || this.#state.session === session) this.#forwarder.stop();
      rmSync(session.sdpFile, { force: true });
      if (session.current) {
        // ffmpeg died or was stopped before reporting its last segment: recover it from disk
        // (later, if the registry cannot be written now).
        const rowId = session.current.rowId;
        session.current = undefined;
        await this.#index.reconcile(rowId, this.options.dir);
      }
    })();
    return session.stopped;
  }

  /** The camera stopped streaming, or (`media-worker-died`) the worker holding it died. */
  #cameraEnded(reason: EndReason = 'camera'): void {
    this.#streaming = false;
    const state = this.#state;
    if (state.kind === 'closed' || this.#closing) return;
    if (state.kind === 'starting' || state.kind === 'recording') this.#stopInBackground(state.session);
    // The fault or full-disk gap stays until recording can start again.
    if (state.kind === 'backoff' || state.kind === 'disk-full') return;
    if (state.kind === 'collecting') clearTimeout(state.timer);
    this.#state = { kind: 'idle' };
    this.#index.openGap(reason === 'media-worker-died' ? 'media-worker-died' : 'camera-offline');
  }

  #fault(session: Session, reason: string, err?: unknown): void {
    const state = this.#state;
    if (this.#closing || session.stopping) return;
    if ((state.kind !== 'starting' && state.kind !== 'recording') || state.session !== session) return;
    if (this.#disk.failed(isDiskFullError(err) || isDiskFullError(reason))) {
      this.#diskFull(reason);
      return;
    }
    this.#failures++;
    const delay = Math.min(
      this.options.backoff?.maxMs ?? 30_000,
      (this.options.backoff?.initialMs ?? 1000) * 2 ** (this.#failures - 1),
    );
    this.#log.error({ reason, retryInMs: delay, failures: this.#failures }, 'recorder failed; restarting');
    this.#index.openGap('recorder-fault');
    this.options.onFault?.('ffmpeg');
    const timer = setTimeout(() => {
      if (this.#state.kind === 'backoff') {
        this.#state = { kind: 'idle' };
        this.stream.requestKeyframe();
      }
    }, delay);
    this.#state = { kind: 'backoff', timer };
    this.#stopInBackground(session);
  }

  /** Stops what records (ffmpeg finishes what it can) and opens a `disk-full` gap until space returns. */
  #diskFull(detail: string): void {
    const state = this.#state;
    if (state.kind === 'disk-full' || state.kind === 'closed' || this.#closing) return;
    if (state.kind === 'backoff' || state.kind === 'collecting') clearTimeout(state.timer);
    if (state.kind === 'starting' || state.kind === 'recording') this.#stopInBackground(state.session);
    this.#state = { kind: 'disk-full' };
    this.#log.error(
      { detail, dir: this.options.dir },
      'recording paused: the disk is full; it resumes when space returns',
    );
    this.#index.openGap('disk-full');
    this.options.onFault?.('disk-full');
  }

  #diskRecovered(freeBytes: number): void {
    if (this.#state.kind !== 'disk-full') return;
    this.#log.info({ freeBytes }, 'disk space is back: recording resumes');
    // The outage's rows that could not be written, and segments left `writing`, now.
    this.#track(this.#index.retryAll(this.options.dir));
    this.#state = { kind: 'idle' };
    if (!this.#streaming) this.#index.openGap('camera-offline');
    this.stream.requestKeyframe();
  }

  #stopInBackground(session: Session): void {
    this.#track(this.#stopSession(session).catch((err) => this.#log.error({ err }, 'could not stop ffmpeg')));
  }

  #track(work: Promise<void>): void {
    const tracked = work
      .catch((err) => this.#log.error({ err }, 'recorder background work failed'))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}
