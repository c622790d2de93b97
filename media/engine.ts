import dgram from 'node:dgram';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type {
  CameraIce,
  CameraStats,
  CommandArgs,
  CommandName,
  CommandResult,
  HostCandidate,
  MediaEvent,
  MediaEvents,
  UdpTarget,
} from './boundary/protocol.js';
import { H264KeyframeAssembler } from './h264-keyframe.js';
import { KeyframeStore } from './keyframe-store.js';
import type { PeerOptions } from './peer-options.js';
import type { UpstreamTimings } from './signaling/upstream-session.js';
import { Stream } from './stream.js';
import { newMediaTraffic } from './traffic.js';

export interface EngineOptions {
  timings: UpstreamTimings;
  keyframeIntervalMs: number;
  viewerTimeoutMs: number;
  peerOptions: PeerOptions;
}

interface Camera {
  stream: Stream;
  ice: CameraIce;
  taps: Map<string, { video: UdpTarget; audio: UdpTarget | undefined }>;
  /** The host candidates last reported to the control plane, as one string to compare. */
  reported: string;
  /** Whether cameraLive was sent for the camera's current session (its video flows). */
  announced: boolean;
  /** The codec of each payload type seen in this session. */
  payloadTypes: Map<number, string>;
  /** Rebuilds its H.264 keyframes for still pictures (the store keeps the latest). */
  keyframes: H264KeyframeAssembler;
}

/** How often host candidates are compared with what was last reported (they also go out with each offer). */
const CANDIDATE_CHECK_MS = 1000;

/**
 * The media plane behind the boundary (media/boundary/protocol.ts): one Stream per camera it
 * was told to hold, its viewers and RTP taps. It answers commands and pushes events, all plain
 * data, and knows nothing of MQTT, HTTP, the registry or other workers: the same engine runs in
 * a child process (media/worker/entry.ts) or, with `media.workers: 0`, in the server's process.
 */
export class MediaEngine {
  readonly #cameras = new Map<string, Camera>();
  readonly #log: Logger;
  readonly #limitLog: RateLimitedLog;
  readonly #now: () => number;
  /** One socket sends every tap's RTP (taps only send). */
  #tapSocket: dgram.Socket | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #traffic = newMediaTraffic();
  /** Each streaming camera's latest H.264 keyframe, for still pictures. */
  readonly #keyframes = new KeyframeStore();
  #closing: Promise<void> | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly emit: (event: MediaEvent) => void,
    log: Logger,
    now: () => number = () => performance.now(),
  ) {
    this.#log = log;
    this.#now = now;
    this.#limitLog = new RateLimitedLog(log, now);
    this.#timer = setInterval(() => {
      for (const [id, camera] of this.#cameras) this.#reportCandidates(id, camera);
    }, CANDIDATE_CHECK_MS);
    this.#timer.unref();
  }

  /** Runs one command. Errors are LookoutErrors with codes (they cross the boundary as code + message). */
  async handle<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>> {
    if (this.#closing && command !== 'stats')
      throw new LookoutError('SHUTTING_DOWN', 'the media worker is stopping');
    const run = this.#commands[command] as (
      a: CommandArgs<C>,
    ) => Promise<CommandResult<C>> | CommandResult<C>;
    return run(args);
  }

  readonly #commands: { [C in CommandName]: (args: CommandArgs<C>) => unknown } = {
    openCamera: (a) => {
      const existing = this.#cameras.get(a.cameraId);
      const camera = existing ?? this.#open(a.cameraId, a.ice);
      camera.ice = a.ice;
      camera.stream.presence(a.online, a.graceMs);
      if (!existing && a.hello) camera.stream.signal({ ok: true, message: a.hello });
      return null;
    },
    closeCamera: async (a) => {
      await this.#close(a.cameraId);
      return null;
    },
    presence: (a) => {
      const camera = this.#cameras.get(a.cameraId);
      if (camera && a.ice) camera.ice = a.ice;
      camera?.stream.presence(a.online);
      return null;
    },
    updateIce: (a) => {
      const camera = this.#cameras.get(a.cameraId);
      if (camera) camera.ice = a.ice;
      return null;
    },
    signal: (a) => {
      this.#cameras.get(a.cameraId)?.stream.signal(a.result);
      return null;
    },
    addViewer: async (a) => {
      const { answerSdp } = await this.#camera(a.cameraId).stream.addViewer(a.offerSdp, a.owner, a.viewerId);
      return { answerSdp };
    },
    trickle: async (a) => {
      const viewer = this.#camera(a.cameraId).stream.viewer(a.viewerId);
      if (!viewer) throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'no such WHEP session');
      await viewer.addCandidates(a.candidates);
      return null;
    },
    removeViewer: async (a) => {
      const removed =
        (await this.#cameras.get(a.cameraId)?.stream.removeViewer(a.viewerId, a.reason)) ?? false;
      return { removed };
    },
    requestKeyframe: (a) => {
      this.#cameras.get(a.cameraId)?.stream.requestKeyframe();
      return null;
    },
    addTap: (a) => {
      const camera = this.#camera(a.cameraId);
      if (!camera.taps.has(a.tapId)) camera.stream.addDemand(`tap:${a.tapId}`);
      camera.taps.set(a.tapId, { video: a.video, audio: a.audio });
      this.#tapSocket ??= this.#createTapSocket();
      // Already streaming (someone watches): the new tap's reader needs the payload types now.
      if (camera.announced) this.#announce(a.cameraId, camera);
      return null;
    },
    removeTap: (a) => {
      const camera = this.#cameras.get(a.cameraId);
      if (camera?.taps.delete(a.tapId)) camera.stream.removeDemand(`tap:${a.tapId}`);
      return null;
    },
    stats: () => {
      const cameras: CameraStats[] = [...this.#cameras].map(([cameraId, c]) => ({
        cameraId,
        viewers: [...c.stream.viewers()].length,
        taps: c.taps.size,
        upstreamPeers: c.stream.upstreamPeerCount,
        live: c.announced,
      }));
      const usage = process.cpuUsage();
      const memory = process.memoryUsage();
      return {
        cameras,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        udpSockets: process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length,
        cpuMs: Math.round((usage.user + usage.system) / 1000),
        receivedBytes: this.#traffic.receivedBytes,
        sentBytes: this.#traffic.sentBytes,
      };
    },
    keyframe: (a) => {
      this.#cameras.get(a.cameraId)?.stream.catchUp(); // media held undecrypted while unwanted
      const frame = this.#keyframes.get(a.cameraId);
      if (!frame) return null;
      const ageMs = Math.max(0, Math.round(this.#now() - frame.at));
      if (frame.seq === a.knownSeq) return { seq: frame.seq, ageMs };
      return { seq: frame.seq, ageMs, annexB: Buffer.from(frame.data).toString('base64') };
    },
  };

  /** Closes every camera (bye to each, every peer closed) and the tap socket. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      await Promise.all([...this.#cameras.keys()].map((id) => this.#close(id)));
      this.#tapSocket?.close();
      this.#tapSocket = undefined;
    })();
    return this.#closing;
  }

  #camera(cameraId: string): Camera {
    const camera = this.#cameras.get(cameraId);
    if (!camera) throw new LookoutError('CAMERA_NOT_OPEN', `camera '${cameraId}' is not held by this worker`);
    return camera;
  }

  #open(cameraId: string, ice: CameraIce): Camera {
    const log = this.#log.child({ device: cameraId });
    const stream: Stream = new Stream(cameraId, {
      send: (id, message) => {
        // The offer carries these candidates: the TURN filter must know them first.
        this.#reportCandidates(id, camera);
        this.#push('signal', { cameraId: id, message });
      },
      deviceIceServers: () => camera.ice.device,
      upstreamIceServers: () => camera.ice.media,
      peerOptions: this.options.peerOptions,
      timings: this.options.timings,
      keyframeIntervalMs: this.options.keyframeIntervalMs,
      viewerTimeoutMs: this.options.viewerTimeoutMs,
      traffic: this.#traffic,
      log,
      limitLog: this.#limitLog,
      now: this.#now,
    });
    const camera: Camera = {
      stream,
      ice,
      taps: new Map(),
      reported: '[]',
      announced: false,
      payloadTypes: new Map(),
      keyframes: new H264KeyframeAssembler(),
    };
    this.#cameras.set(cameraId, camera);
    stream.on('rtp', (kind, mimeType, packet) => {
      const pt = packet.header.payloadType;
      const known = camera.payloadTypes.get(pt) === mimeType;
      if (!known) camera.payloadTypes.set(pt, mimeType);
      // Live once video flows; announced again when a payload type appears (audio after video, a
      // codec change): a tap's datagrams are read by payload type.
      if ((kind === 'video' && !camera.announced) || (!known && camera.announced)) {
        camera.announced = true;
        this.#announce(cameraId, camera);
      }
      if (kind === 'video' && (mimeType === 'video/H264' || mimeType.toLowerCase() === 'video/h264')) {
        const { sequenceNumber, timestamp, marker } = packet.header;
        const keyframe = camera.keyframes.push({
          sequenceNumber,
          timestamp,
          marker,
          payload: packet.payload,
        });
        if (keyframe) this.#keyframes.put(cameraId, keyframe);
      }
      if (camera.taps.size === 0 || !camera.announced) return;
      const bytes = packet.serialize();
      for (const tap of camera.taps.values()) {
        const target = kind === 'video' ? tap.video : tap.audio;
        if (target) this.#tapSocket?.send(bytes, target.port, target.address);
      }
    });
    stream.on('ended', () => {
      if (camera.announced) this.#push('cameraEnded', { cameraId });
      camera.announced = false;
      camera.payloadTypes.clear();
      camera.keyframes.reset();
      this.#keyframes.delete(cameraId);
      this.#reportCandidates(cameraId, camera);
    });
    stream.on('viewer-connected', (viewerId) => this.#push('viewerConnected', { cameraId, viewerId }));
    stream.on('viewer-first-frame', (viewerId) => this.#push('viewerFirstFrame', { cameraId, viewerId }));
    stream.on('viewer-closed', (viewerId, reason) =>
      this.#push('viewerClosed', { cameraId, viewerId, reason }),
    );
    return camera;
  }

  /** cameraLive: the camera's codecs and the codec of each payload type seen in this session. */
  #announce(cameraId: string, camera: Camera): void {
    const codecs = camera.stream.codecs;
    this.#push('cameraLive', {
      cameraId,
      codecs: { video: codecs.video, audio: codecs.audio },
      payloadTypes: [...camera.payloadTypes].map(([payloadType, mimeType]) => ({ payloadType, mimeType })),
    });
  }

  async #close(cameraId: string): Promise<void> {
    const camera = this.#cameras.get(cameraId);
    if (!camera) return;
    this.#cameras.delete(cameraId);
    this.#keyframes.delete(cameraId);
    for (const tapId of camera.taps.keys()) camera.stream.removeDemand(`tap:${tapId}`);
    camera.taps.clear();
    await camera.stream.close();
    if (camera.announced) this.#push('cameraEnded', { cameraId });
    if (camera.reported !== '[]') this.#push('hostCandidates', { cameraId, candidates: [] });
  }

  #reportCandidates(cameraId: string, camera: Camera): void {
    if (!this.#cameras.has(cameraId)) return;
    const candidates: HostCandidate[] = camera.stream.upstreamHostCandidates();
    const key = JSON.stringify(candidates);
    if (key === camera.reported) return;
    camera.reported = key;
    this.#push('hostCandidates', { cameraId, candidates });
  }

  #createTapSocket(): dgram.Socket {
    const socket = dgram.createSocket('udp4');
    socket.on('error', (err) =>
      this.#limitLog.warn('tap-socket', { err: err.message }, 'RTP tap socket error'),
    );
    return socket;
  }

  #push<E extends keyof MediaEvents>(event: E, data: MediaEvents[E]): void {
    try {
      this.emit({ event, data } as MediaEvent);
    } catch (err) {
      this.#log.error({ err, event }, 'could not deliver a media event');
    }
  }
}
