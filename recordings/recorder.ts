import dgram from 'node:dgram';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import type { RecordingStore } from '../devices/index.js';
import { isKeyframeStart } from '../media/keyframe.js';
import type { Segmenter } from './ffmpeg.js';
import { RecorderIndex } from './recorder-index.js';
import { launchSegmenter } from './recorder-launch.js';
import { recoverSegment } from './recovery.js';
import {
  type AudioCodec,
  audioCodecOf,
  audioPayloadType,
  ParameterSetCollector,
  VIDEO_PT,
  type VideoCodec,
  videoCodecOf,
  withPayloadType,
} from './rtp-input.js';

/** What the recorder needs from a camera's Stream (media/stream.ts). */
export interface RecordedStream {
  on(event: 'rtp', listener: (kind: 'video' | 'audio', mimeType: string, packet: RtpPacket) => void): unknown;
  on(event: 'ended', listener: () => void): unknown;
  off(
    event: 'rtp',
    listener: (kind: 'video' | 'audio', mimeType: string, packet: RtpPacket) => void,
  ): unknown;
  off(event: 'ended', listener: () => void): unknown;
  addDemand(holder: string): void;
  removeDemand(holder: string): void;
  requestKeyframe(): void;
}

export interface RecorderOptions {
  deviceId: string;
  /** The recordings directory; this camera's files go in `<dir>/<deviceId>/`. */
  dir: string;
  segmentSeconds: number;
  fragmentMs: number;
  store: RecordingStore;
  log: Logger;
  /** Called after every finished segment (retention runs then). */
  onSegment?: () => void;
  now?: () => number;
  /** Restart back-off after an ffmpeg failure. */
  backoff?: { initialMs: number; maxMs: number };
}

type State =
  | { kind: 'idle' }
  | { kind: 'waiting-keyframe' }
  /** The camera sends a codec MP4 cannot hold: nothing is recorded until its next session. */
  | { kind: 'unsupported' }
  | {
      kind: 'collecting';
      video: VideoCodec;
      buffer: Session['buffer'];
      timer: NodeJS.Timeout;
      keyframeAt: number;
    }
  | { kind: 'starting'; session: Session }
  | { kind: 'recording'; session: Session }
  | { kind: 'backoff'; timer: NodeJS.Timeout }
  | { kind: 'closed' };

interface Session {
  segmenter: Segmenter;
  videoPort: number;
  audioPort: number | undefined;
  audio: AudioCodec | undefined;
  video: VideoCodec;
  startMs: number;
  stamp: string;
  sdpFile: string;
  /** Index and row of the segment ffmpeg is writing. */
  current: { index: number; rowId: number } | undefined;
  buffer: Array<{ kind: 'video' | 'audio'; bytes: Buffer }>;
  stopping: boolean;
  stopped?: Promise<void>;
}

const BUFFER_LIMIT = 4000;
const AUDIO_WAIT_MS = 500;
let recorders = 0;

/**
 * Records one camera: adds demand to its Stream so it streams, waits for a keyframe,
 * starts ffmpeg (Segmenter) on loopback RTP, forwards packets, indexes segments as they
 * finish, and keeps gaps explicit: `camera-offline` while the camera is not streaming,
 * `recorder-fault` while ffmpeg is down. ffmpeg is restarted with back-off when it dies.
 */
export class Recorder {
  #state: State = { kind: 'idle' };
  readonly #index: RecorderIndex;
  #failures = 0;
  #lastStampMs = 0;
  readonly #socket = dgram.createSocket('udp4');
  readonly #params = new ParameterSetCollector();
  #lastAudio: { codec: AudioCodec; at: number } | undefined;
  #closing: Promise<void> | undefined;
  /** Unique per recorder: a new one may start while the last one still finishes its ffmpeg. */
  readonly #demand = `recorder:${++recorders}`;
  /** Sessions being stopped (camera gone, ffmpeg failed); close() waits for them. */
  readonly #stopping = new Set<Promise<void>>();
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #deviceDir: string;
  readonly #onRtp = (kind: 'video' | 'audio', mimeType: string, packet: RtpPacket) =>
    this.#rtp(kind, mimeType, packet);
  readonly #onEnded = () => this.#cameraEnded();

  constructor(
    private readonly stream: RecordedStream,
    private readonly options: RecorderOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
    this.#deviceDir = path.join(options.dir, options.deviceId);
    this.#index = new RecorderIndex(options.store, options.deviceId, options.log, this.#now);
    this.#socket.on('error', (err) => this.#log.warn({ err }, 'recorder socket error'));
    mkdirSync(this.#deviceDir, { recursive: true });
    this.#index.openGap('camera-offline');
    stream.on('rtp', this.#onRtp);
    stream.on('ended', this.#onEnded);
    stream.addDemand(this.#demand);
    stream.requestKeyframe();
    this.#log.info({ dir: this.#deviceDir }, 'recording started');
  }

  /** Stops recording: ffmpeg finishes the segment it writes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const previous = this.#state;
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
      await Promise.all(this.#stopping);
      this.#state = { kind: 'closed' };
      this.stream.off('rtp', this.#onRtp);
      this.stream.off('ended', this.#onEnded);
      this.stream.removeDemand(this.#demand);
      this.#index.closeGap();
      this.#socket.close();
      this.#log.info('recording stopped');
    })();
    return this.#closing;
  }

  /** Test and fault hook: the running ffmpeg's tied wrapper process. */
  get segmenter(): Segmenter | undefined {
    const state = this.#state;
    return state.kind === 'starting' || state.kind === 'recording' ? state.session.segmenter : undefined;
  }

  #rtp(kind: 'video' | 'audio', mimeType: string, packet: RtpPacket): void {
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
        // The wall-clock time of the session's first frame: segment times count from it.
        const keyframeAt = this.#now();
        this.#params.add(packet.payload);
        const buffer = [{ kind, bytes: packet.serialize() }];
        if (this.#audioRecent()) {
          this.#beginSession(video, this.#lastAudio!.codec, buffer, keyframeAt);
          return;
        }
        // A camera's audio may start just after its video (the reference agent restarts
        // both on a keyframe request): hold the start a moment so the file has sound.
        const timer = setTimeout(() => {
          const current = this.#state;
          if (current.kind === 'collecting')
            this.#beginSession(current.video, undefined, current.buffer, current.keyframeAt);
        }, AUDIO_WAIT_MS);
        this.#state = { kind: 'collecting', video, buffer, timer, keyframeAt };
        return;
      }
      case 'collecting':
        if (kind === 'video') this.#params.add(packet.payload);
        state.buffer.push({ kind, bytes: packet.serialize() });
        if (audioCodec) {
          clearTimeout(state.timer);
          this.#beginSession(state.video, audioCodec, state.buffer, state.keyframeAt);
        }
        return;
      case 'starting': {
        const session = state.session;
        if (kind === 'video') this.#params.add(packet.payload);
        if (session.buffer.length >= BUFFER_LIMIT) {
          this.#log.warn('ffmpeg is slow to start; dropping the buffered start');
          session.buffer.length = 0;
        }
        session.buffer.push({ kind, bytes: packet.serialize() });
        return;
      }
      case 'recording':
        this.#send(state.session, kind, packet.serialize());
        return;
      default:
        return;
    }
  }

  /** Sends a packet's bytes to ffmpeg with the payload type its SDP declares (if this kind is recorded). */
  #send(session: Session, kind: 'video' | 'audio', bytes: Buffer): void {
    if (kind === 'video') {
      this.#socket.send(withPayloadType(bytes, VIDEO_PT), session.videoPort, '127.0.0.1');
    } else if (session.audio !== undefined && session.audioPort !== undefined) {
      this.#socket.send(
        withPayloadType(bytes, audioPayloadType(session.audio)),
        session.audioPort,
        '127.0.0.1',
      );
    }
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
  }

  #beginSession(
    video: VideoCodec,
    audio: AudioCodec | undefined,
    buffer: Session['buffer'],
    startMs: number,
  ): void {
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
      buffer,
      stopping: false,
    };
    this.#state = { kind: 'starting', session };
    this.#launch(session).catch((err) => this.#fault(session, (err as Error).message));
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
        onSegment: (file, start, end) => this.#segmentDone(session, file, start, end),
        onExit: (info) => {
          if (!info.requested) this.#fault(session, info.error ?? 'ffmpeg exited');
        },
        wanted,
        now: this.#now,
      },
      (launched) => Object.assign(session, launched),
    );
    if (!listening || !wanted()) return;
    this.#state = { kind: 'recording', session };
    this.#openSegment(session, 0, session.startMs);
    this.#index.closeGap(session.startMs);
    for (const { kind, bytes } of session.buffer.splice(0)) this.#send(session, kind, bytes);
    this.#log.info(
      { video: session.video, audio: session.audio ?? 'none', pid: await session.segmenter.pidReady },
      'recorder running',
    );
  }

  #openSegment(session: Session, index: number, startMs: number): void {
    const rowId = this.#index.openSegment(session, index, startMs);
    // Unindexed (the registry refused the write): startup recovery adopts the file.
    session.current = rowId === undefined ? undefined : { index, rowId };
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
    const endMs = this.#index.finishSegment(
      current.rowId,
      durationMs,
      bytes,
      session.startMs + startSeconds * 1000,
    );
    session.current = undefined;
    if (!session.stopping && session.segmenter.running) this.#openSegment(session, current.index + 1, endMs);
    this.options.onSegment?.();
  }

  #stopSession(session: Session): Promise<void> {
    session.stopped ??= (async () => {
      session.stopping = true;
      if (session.segmenter) await session.segmenter.stop();
      rmSync(session.sdpFile, { force: true });
      if (session.current) {
        // ffmpeg died or was stopped before reporting its last segment: recover it from disk.
        const row = this.options.store.get(session.current.rowId);
        if (row) await recoverSegment(this.options.store, this.options.dir, row, this.#log);
        session.current = undefined;
      }
    })();
    return session.stopped;
  }

  #cameraEnded(): void {
    const state = this.#state;
    if (state.kind === 'closed' || this.#closing) return;
    if (state.kind === 'starting' || state.kind === 'recording') this.#stopInBackground(state.session);
    if (state.kind === 'backoff') return; // the fault gap stays until ffmpeg runs again
    if (state.kind === 'collecting') clearTimeout(state.timer);
    this.#state = { kind: 'idle' };
    this.#index.openGap('camera-offline');
  }

  #fault(session: Session, reason: string): void {
    const state = this.#state;
    if (this.#closing || session.stopping) return;
    if ((state.kind !== 'starting' && state.kind !== 'recording') || state.session !== session) return;
    this.#failures++;
    const delay = Math.min(
      this.options.backoff?.maxMs ?? 30_000,
      (this.options.backoff?.initialMs ?? 1000) * 2 ** (this.#failures - 1),
    );
    this.#log.error({ reason, retryInMs: delay, failures: this.#failures }, 'recorder failed; restarting');
    this.#index.openGap('recorder-fault');
    const timer = setTimeout(() => {
      if (this.#state.kind === 'backoff') {
        this.#state = { kind: 'idle' };
        this.stream.requestKeyframe();
      }
    }, delay);
    this.#state = { kind: 'backoff', timer };
    this.#stopInBackground(session);
  }

  #stopInBackground(session: Session): void {
    const stopping = this.#stopSession(session)
      .catch((err) => this.#log.error({ err }, 'could not stop ffmpeg'))
      .finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
  }
}
