import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { MediaChannel } from './boundary/channel.js';
import type {
  CameraIce,
  CommandArgs,
  CommandName,
  HostCandidate,
  MediaEvent,
  UdpTarget,
} from './boundary/protocol.js';
import { CameraFeed, type EndReason } from './camera-feed.js';
import { relog } from './relog.js';
import {
  type DeviceMessage,
  type IceServer,
  type ParseResult,
  PROTOCOL_VERSION,
} from './signaling/messages.js';
import type { MqttSignaling } from './signaling/mqtt-signaling.js';
import type { WorkerPool } from './worker-pool.js';

export interface RouterDeps {
  signaling: Pick<MqttSignaling, 'on' | 'send' | 'online'>;
  pool: Pick<WorkerPool, 'ready' | 'on'>;
  /** Whether a device is registered (and not revoked). */
  deviceExists(deviceId: string): boolean;
  deviceIceServers(deviceId: string): IceServer[];
  mediaIceServers(): IceServer[];
  helloGraceMs: number;
  /**
   * Whether a device's message about no camera placed here is answered with an error (single
   * host). In a cluster another node may hold the camera (it answers): false.
   */
  answerUnplaced?: boolean;
  log: Logger;
  now?: () => number;
}

/** A WHEP viewer as the control plane knows it. */
export interface PlacedViewer {
  owner: string;
  answered: boolean;
  /** When its WHEP POST arrived (the MediaNode's clock), for time to first frame. */
  requestedAt: number;
}

/** A camera held by a worker, and the WHEP viewers it serves there. */
export interface Placement {
  channel: MediaChannel;
  viewers: Map<string, PlacedViewer>;
}

/** How often cameras' ICE credentials are renewed in their worker (they are issued for hours). */
const ICE_REFRESH_MS = 30_000;

/**
 * The control plane's side of the media boundary: places each camera on the least-loaded
 * worker when something first needs it, routes the camera's MQTT signaling to that worker and
 * the worker's messages back, keeps what the TURN filter and the HTTP API ask synchronously
 * (presence, host candidates, viewers and their owners), and, when a worker dies, drops its
 * viewers, tells feeds (the recorder records a `media-worker-died` gap) and places what still
 * needs a camera on a live worker. The WHEP service on top of this is media/whep-service.ts.
 */
export class MediaRouter {
  readonly placements = new Map<string, Placement>();
  readonly #presence = new Map<string, boolean>();
  readonly #onlineAt = new Map<string, number>();
  /** Each device's last hello since it came online, replayed when its camera is placed. */
  readonly #hellos = new Map<string, DeviceMessage>();
  readonly #candidates = new Map<string, HostCandidate[]>();
  readonly #feeds = new Map<string, CameraFeed>();
  /** Cameras whose worker died while something needed them, waiting for a worker. */
  readonly #homeless = new Set<string>();
  readonly #log: Logger;
  readonly #limitLog: RateLimitedLog;
  readonly #now: () => number;
  readonly #refresh: NodeJS.Timeout;
  readonly #firstFrameListeners = new Set<(viewer: PlacedViewer) => void>();
  #closed = false;

  constructor(private readonly deps: RouterDeps) {
    this.#log = deps.log;
    this.#now = deps.now ?? (() => performance.now());
    this.#limitLog = new RateLimitedLog(deps.log, this.#now);
    for (const channel of deps.pool.ready) this.#attach(channel);
    deps.pool.on('ready', (channel) => {
      this.#attach(channel);
      for (const id of [...this.#homeless]) this.#placeFeed(id);
    });
    deps.pool.on('died', (channel) => this.#workerDied(channel));
    deps.signaling.on('presence', (id, online) => this.#onPresence(id, online));
    // Statuses the broker replayed before this listener existed (they complete the SUBSCRIBE,
    // which can be before the signaling client's connect() resolved).
    for (const id of deps.signaling.online()) this.#onPresence(id, true);
    deps.signaling.on('message', (id, result) => {
      if (result.ok && result.message.type === 'hello') this.#hellos.set(id, result.message);
      const placement = this.placements.get(id);
      if (placement) {
        this.#send(placement, 'signal', { cameraId: id, result });
        return;
      }
      this.#unplacedSignal(id, result);
    });
    this.#refresh = setInterval(() => {
      for (const [id, placement] of this.placements)
        if (this.isOnline(id)) this.#send(placement, 'updateIce', { cameraId: id, ice: this.#ice(id) });
    }, ICE_REFRESH_MS);
    this.#refresh.unref();
  }

  isOnline(deviceId: string): boolean {
    return this.#presence.get(deviceId) ?? false;
  }

  /** Calls `listener` when a viewer was sent its first keyframe; returns the unsubscribe. */
  onViewerFirstFrame(listener: (viewer: PlacedViewer) => void): () => void {
    this.#firstFrameListeners.add(listener);
    return () => this.#firstFrameListeners.delete(listener);
  }

  /** Where workers listen for cameras' media now (the embedded TURN server relays only there). */
  upstreamHostCandidates(): HostCandidate[] {
    return [...this.#candidates.values()].flat();
  }

  /** The camera's feed (RTP taps for the recorder), created on first use. */
  feed(deviceId: string): CameraFeed {
    let feed = this.#feeds.get(deviceId);
    if (!feed) {
      feed = new CameraFeed(
        deviceId,
        {
          addTap: (id, tapId, video, audio) => this.#addTap(id, tapId, video, audio),
          removeTap: (id, tapId) => {
            const placement = this.placements.get(id);
            if (placement) this.#send(placement, 'removeTap', { cameraId: id, tapId });
            // Nobody holds the feed any more (its sockets are closed): forget it.
            if (!this.#feeds.get(id)?.wanted) this.#feeds.delete(id);
            this.#releaseIfIdle(id);
          },
          requestKeyframe: (id) => {
            const placement = this.placements.get(id);
            if (placement) this.#send(placement, 'requestKeyframe', { cameraId: id });
          },
        },
        this.#log.child({ device: deviceId, part: 'feed' }),
      );
      this.#feeds.set(deviceId, feed);
    }
    return feed;
  }

  /** The camera's placement, made now on the least-loaded worker if it has none. */
  place(cameraId: string): Placement {
    const existing = this.placements.get(cameraId);
    if (existing) return existing;
    if (this.#closed) throw new LookoutError('SHUTTING_DOWN', 'the server is shutting down');
    const channel = this.#leastLoaded();
    if (!channel)
      throw new LookoutError('MEDIA_UNAVAILABLE', 'no media worker is running; try again shortly');
    const placement: Placement = { channel, viewers: new Map() };
    this.placements.set(cameraId, placement);
    this.#homeless.delete(cameraId);
    const onlineAt = this.#onlineAt.get(cameraId);
    const hello = this.#hellos.get(cameraId);
    this.#send(placement, 'openCamera', {
      cameraId,
      online: this.isOnline(cameraId),
      // The grace runs from when the camera came online, not from when someone first watched.
      ...(onlineAt !== undefined
        ? { graceMs: Math.max(0, this.deps.helloGraceMs - (this.#now() - onlineAt)) }
        : {}),
      ...(hello ? { hello } : {}),
      ice: this.#ice(cameraId),
    });
    const tap = this.#feeds.get(cameraId)?.tap();
    if (tap) this.#send(placement, 'addTap', { cameraId, ...tap });
    this.#log.debug({ device: cameraId, worker: channel.workerId }, 'camera placed');
    return placement;
  }

  /** Cameras something here needs now: a WHEP viewer, or a feed someone (the recorder) holds. */
  camerasInUse(): Set<string> {
    const used = new Set<string>();
    for (const [id, placement] of this.placements) if (placement.viewers.size > 0) used.add(id);
    for (const [id, feed] of this.#feeds) if (feed.wanted) used.add(id);
    return used;
  }

  /**
   * Closes the camera here whatever needs it (its lease was lost or released, D39): its viewers
   * end, its feed ends with `reason` and is placed again only by a new demand. Answers how many
   * viewers it had.
   */
  evict(cameraId: string, reason: EndReason): number {
    this.#homeless.delete(cameraId);
    const placement = this.placements.get(cameraId);
    if (!placement) return 0;
    this.placements.delete(cameraId);
    this.#candidates.delete(cameraId);
    this.#feeds.get(cameraId)?.ended(reason);
    this.#send(placement, 'closeCamera', { cameraId });
    this.#log.info(
      { device: cameraId, viewers: placement.viewers.size, reason },
      'camera closed on this node',
    );
    return placement.viewers.size;
  }

  /** Closes the camera in its worker when nothing needs it (no viewer, no tap) and it is offline. */
  #releaseIfIdle(cameraId: string): void {
    const placement = this.placements.get(cameraId);
    if (!placement || placement.viewers.size > 0 || this.#feeds.get(cameraId)?.wanted) return;
    if (this.isOnline(cameraId) && this.deps.deviceExists(cameraId)) return;
    this.placements.delete(cameraId);
    this.#candidates.delete(cameraId);
    this.#send(placement, 'closeCamera', { cameraId });
  }

  /** Sends a command whose answer nobody awaits; a failure is logged (a dead worker is handled by #workerDied). */
  #send<C extends CommandName>(placement: Placement, command: C, args: CommandArgs<C>): void {
    placement.channel.request(command, args).catch((err: LookoutError) => {
      if (err.code !== 'MEDIA_WORKER_DIED')
        this.#log.warn({ err: err.message, code: err.code, command }, 'media worker command failed');
    });
  }

  #addTap(cameraId: string, tapId: string, video: UdpTarget, audio: UdpTarget): void {
    const placement = this.placements.get(cameraId);
    // Placing the camera sends its feed's tap with it (place() reads feed.tap()), now or, while no
    // worker is ready (one is being replaced), once one is.
    if (!placement) this.#placeFeed(cameraId);
    else this.#send(placement, 'addTap', { cameraId, tapId, video, audio });
  }

  #ice(cameraId: string): CameraIce {
    return { device: this.deps.deviceIceServers(cameraId), media: this.deps.mediaIceServers() };
  }

  #leastLoaded(): MediaChannel | undefined {
    const load = new Map<MediaChannel, number>();
    for (const channel of this.deps.pool.ready) load.set(channel, 0);
    for (const { channel } of this.placements.values())
      if (load.has(channel)) load.set(channel, load.get(channel)! + 1);
    let best: MediaChannel | undefined;
    for (const [channel, cameras] of load) if (!best || cameras < load.get(best)!) best = channel;
    return best;
  }

  #attach(channel: MediaChannel): void {
    const log = this.#log.child({ worker: channel.workerId });
    channel.on('event', (event) => this.#onEvent(channel, event, log));
  }

  #onEvent(channel: MediaChannel, event: MediaEvent, log: Logger): void {
    if (event.event === 'log') {
      relog(log, event.data.record);
      return;
    }
    const id = event.data.cameraId;
    const placement = this.placements.get(id);
    // Events of a camera this worker no longer holds (closed, or placed again) are stale.
    if (placement?.channel !== channel) return;
    switch (event.event) {
      case 'signal':
        this.deps.signaling.send(id, event.data.message);
        return;
      case 'cameraLive':
        this.#feeds.get(id)?.live(event.data.payloadTypes);
        return;
      case 'cameraEnded':
        this.#feeds.get(id)?.ended('camera');
        return;
      case 'hostCandidates':
        if (event.data.candidates.length > 0) this.#candidates.set(id, event.data.candidates);
        else this.#candidates.delete(id);
        return;
      case 'viewerConnected':
        return;
      case 'viewerFirstFrame': {
        const viewer = placement.viewers.get(event.data.viewerId);
        if (!viewer) return;
        for (const listener of this.#firstFrameListeners) {
          try {
            listener(viewer);
          } catch (err) {
            log.error({ err }, 'a first-frame listener threw');
          }
        }
        return;
      }
      case 'viewerClosed':
        placement.viewers.delete(event.data.viewerId);
        this.#releaseIfIdle(id);
        return;
    }
  }

  #onPresence(deviceId: string, online: boolean): void {
    this.#presence.set(deviceId, online);
    if (!online) {
      this.#onlineAt.delete(deviceId);
      this.#hellos.delete(deviceId);
    } else if (!this.#onlineAt.has(deviceId)) this.#onlineAt.set(deviceId, this.#now());
    const placement = this.placements.get(deviceId);
    if (!placement) return;
    this.#send(placement, 'presence', {
      cameraId: deviceId,
      online,
      ...(online ? { ice: this.#ice(deviceId) } : {}),
    });
    if (!online) this.#releaseIfIdle(deviceId);
  }

  /** A message from a camera nothing has placed: nothing was offered. Tell a device that answers anyway. */
  #unplacedSignal(deviceId: string, parsed: ParseResult<DeviceMessage>): void {
    if (this.deps.answerUnplaced === false) return;
    if (!parsed.ok) {
      this.#limitLog.warn(
        `bad-signal:${deviceId}`,
        { device: deviceId, code: parsed.code, reason: parsed.reason },
        'bad signaling message from device',
      );
      this.deps.signaling.send(deviceId, {
        v: PROTOCOL_VERSION,
        type: 'error',
        code: parsed.code,
        message: parsed.reason,
        ...(parsed.session ? { session: parsed.session } : {}),
      });
    } else if (parsed.message.type === 'answer') {
      this.deps.signaling.send(deviceId, {
        v: PROTOCOL_VERSION,
        type: 'error',
        session: parsed.message.session,
        code: 'UNKNOWN_SESSION',
        message: 'no offer is waiting for this session',
      });
    }
  }

  #workerDied(channel: MediaChannel): void {
    for (const [id, placement] of [...this.placements]) {
      if (placement.channel !== channel) continue;
      this.placements.delete(id);
      this.#candidates.delete(id);
      if (placement.viewers.size > 0)
        this.#log.warn(
          { device: id, viewers: placement.viewers.size },
          'viewers lost with their media worker',
        );
      const feed = this.#feeds.get(id);
      feed?.ended('media-worker-died');
      if (feed?.wanted) this.#placeFeed(id);
    }
  }

  /** Places a camera whose feed is wanted (a new tap, or its worker died), now or once a worker is ready. */
  #placeFeed(cameraId: string): void {
    if (this.#closed || !this.#feeds.get(cameraId)?.wanted) {
      this.#homeless.delete(cameraId);
      return;
    }
    if (this.deps.pool.ready.size === 0) {
      this.#homeless.add(cameraId);
      return;
    }
    this.place(cameraId);
  }

  /** Stops placing cameras; the pool (closed by the owner) closes them in their workers. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#refresh);
    this.#homeless.clear();
  }
}
