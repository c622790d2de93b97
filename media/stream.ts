import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RtpPacket } from 'werift';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { KeyframeCache } from './keyframe-cache.js';
import { KeyframeRequests } from './keyframe-requests.js';
import type { DeviceMessage, ParseResult } from './signaling/messages.js';
import { KeyframeInterval } from './srtp-hold.js';
import type { MediaTraffic } from './traffic.js';
import { UpstreamLink, type UpstreamLinkDeps } from './upstream-link.js';
import type { MediaKind } from './upstream-peer.js';
import { Viewer } from './viewer.js';
import { ViewerPrimer } from './viewer-primer.js';

export interface StreamDeps extends UpstreamLinkDeps {
  /** Least time between two keyframe requests sent to the camera. */
  keyframeIntervalMs: number;
  /** Drop a viewer that has sent no RTCP for this long. */
  viewerTimeoutMs: number;
  /** The worker's byte totals, counted here (cameras' RTP) and by viewers (what they are sent). */
  traffic: MediaTraffic;
}

/** A keyframe request no keyframe answered within this is sent again (the request or the keyframe was lost). */
const KEYFRAME_REQUEST_TIMEOUT_MS = 1500;

export type StreamEvents = {
  live: [];
  ended: [];
  /** Every packet from the camera, for taps such as the recorder. */
  rtp: [kind: MediaKind, mimeType: string, packet: RtpPacket];
  'viewer-connected': [viewerId: string];
  /** The viewer was sent the start of its first keyframe. */
  'viewer-first-frame': [viewerId: string];
  /** A viewer is gone: removed, failed, closed by its browser or timed out. */
  'viewer-closed': [viewerId: string, reason: string];
};

/**
 * One camera: its signaling session (UpstreamLink: pure state machine + werift upstream
 * peer), its viewers, and its demand. The camera streams only while someone needs it;
 * viewers survive camera restarts and resume on the next keyframe.
 */
export class Stream extends EventEmitter<StreamEvents> {
  readonly #link: UpstreamLink;
  readonly #viewers = new Map<string, Viewer>();
  /** Where each viewer's packets go: the viewer, or its primer while a keyframe-cache burst is sent. */
  readonly #feeds = new Map<string, Viewer | ViewerPrimer>();
  readonly #cache = new KeyframeCache();
  readonly #keyframeInterval = new KeyframeInterval();
  readonly #demand = new Set<string>();
  readonly #log: Logger;
  /** The camera's codecs as last seen (H.264 and Opus until it has streamed). */
  #codecs: Record<MediaKind, string> = { video: 'video/H264', audio: 'audio/opus' };
  #codecsKnown = false;
  readonly #keyframes: KeyframeRequests;
  /** Keyframe requests sent to the camera so far (in the debug log line of each). */
  #keyframeRequests = 0;
  /** The retry of a request held back (keyframe-requests.ts), and when it is due. */
  #pendingKeyframe: { at: number; timer: NodeJS.Timeout } | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly deviceId: string,
    private readonly deps: StreamDeps,
  ) {
    super();
    this.#log = deps.log;
    this.#keyframes = new KeyframeRequests(deps.keyframeIntervalMs, KEYFRAME_REQUEST_TIMEOUT_MS);
    this.#link = new UpstreamLink(deviceId, deps, {
      rtp: (kind, mimeType, packet) => {
        if (this.#codecs[kind] !== mimeType && mimeType) this.#codecs[kind] = mimeType;
        if (kind === 'video') {
          this.#codecsKnown = true;
          const keyframe = this.#cache.push(mimeType, packet);
          if (keyframe) this.#keyframeInterval.keyframe(packet.header.timestamp);
          if (this.#keyframes.video(packet.header.timestamp, keyframe)) this.requestKeyframe();
        }
        for (const feed of this.#feeds.values()) feed.forward(kind, mimeType, packet);
        this.emit('rtp', kind, mimeType, packet);
      },
      received: (bytes) => {
        deps.traffic.receivedBytes += bytes;
      },
      live: () => {
        this.#keyframes.sessionStarted(deps.now());
        this.emit('live');
      },
      ended: () => {
        this.#cache.clear();
        this.#keyframeInterval.sessionEnded();
        this.#keyframes.reset();
        for (const [id, viewer] of this.#viewers) {
          this.#feed(id)?.cancel();
          this.#feeds.set(id, viewer);
          viewer.resync();
        }
        this.emit('ended');
      },
    });
    this.#holdWhileUnwanted();
  }

  /** `graceMs`: what is left of the hello grace when the camera came online before this Stream existed. */
  presence(online: boolean, graceMs?: number): void {
    this.#link.presence(online, graceMs);
  }

  signal(result: ParseResult<DeviceMessage>): void {
    this.#link.signal(result);
  }

  /** Peer connections to the camera now open or closing (bounded; for tests and metrics). */
  get upstreamPeerCount(): number {
    return this.#link.peerCount;
  }

  /** Something (a viewer, the recorder) needs the camera's video. */
  addDemand(holder: string): void {
    this.#demand.add(holder);
    if (this.#demand.size === 1) {
      this.#link.hold(undefined); // what was held is decrypted first, into the keyframe cache
      this.#link.demand(true);
    }
  }

  removeDemand(holder: string): void {
    if (this.#demand.delete(holder) && this.#demand.size === 0) {
      this.#link.demand(false);
      this.#holdWhileUnwanted();
    }
  }

  /**
   * Brings the keyframe cache and every 'rtp' listener up to date with what the camera sent,
   * decrypting what is held while nothing needs the media (a still asks for the latest keyframe).
   */
  catchUp(): void {
    this.#link.catchUp();
  }

  /**
   * Nothing needs the camera's media, though it may stream on (media.lingerMs): its SRTP is held
   * undecrypted (srtp-hold.ts, D41) until something does.
   */
  #holdWhileUnwanted(): void {
    this.#link.hold(() => this.#keyframeInterval.holdWindowMs());
  }

  /** The camera's codecs as last seen (H.264 and Opus until it has streamed). */
  get codecs(): Readonly<Record<MediaKind, string>> {
    return this.#codecs;
  }

  /** Adds a WHEP viewer for `owner` (an API token id); resolves with the SDP answer. */
  async addViewer(
    offerSdp: string,
    owner: string,
    viewerId = randomBytes(12).toString('base64url'),
  ): Promise<{ viewerId: string; answerSdp: string }> {
    if (this.#closed) throw new LookoutError('SHUTTING_DOWN', 'the camera session is closing');
    const viewer = new Viewer(
      viewerId,
      owner,
      this.deps.peerOptions,
      {
        keyframeRequest: () => this.requestKeyframe(),
        state: (state) => {
          if (state === 'connected') {
            this.#prime(viewerId);
            if (this.#viewers.has(viewerId)) this.emit('viewer-connected', viewerId);
          } else this.removeViewer(viewerId, `peer-${state}`).catch(() => {});
        },
        firstFrame: () => {
          if (this.#viewers.has(viewerId)) this.emit('viewer-first-frame', viewerId);
        },
        written: (bytes) => {
          this.deps.traffic.sentBytes += bytes;
        },
      },
      this.#log.child({ viewer: viewerId }),
    );
    let answerSdp: string;
    try {
      answerSdp = await viewer.answer(offerSdp, this.#codecs, this.#codecsKnown);
    } catch (err) {
      await viewer.close();
      if (err instanceof LookoutError) throw err;
      throw new LookoutError('SDP_INVALID', `cannot use the offer: ${(err as Error).message}`);
    }
    this.#viewers.set(viewerId, viewer);
    this.addDemand(`viewer:${viewerId}`); // before it is fed: media held till now goes to the cache only
    this.#feeds.set(viewerId, viewer);
    this.#sweep ??= setInterval(
      () => this.#dropSilentViewers(),
      Math.min(5000, this.deps.viewerTimeoutMs / 2),
    );
    this.#log.info({ viewer: viewerId, owner, viewers: this.#viewers.size }, 'viewer joined');
    return { viewerId, answerSdp };
  }

  /** Where the media node listens for this camera's media now (UDP host candidates of the current session). */
  upstreamHostCandidates(): Array<{ address: string; port: number }> {
    return this.#link.hostCandidates();
  }

  viewer(viewerId: string): Viewer | undefined {
    return this.#viewers.get(viewerId);
  }

  /** The viewers now open. */
  viewers(): IterableIterator<Viewer> {
    return this.#viewers.values();
  }

  /**
   * Ends a viewer's session: it is gone from this stream at once (no packet is forwarded to it
   * after this call), its peer connection is closed before the promise resolves.
   */
  async removeViewer(viewerId: string, reason = 'deleted'): Promise<boolean> {
    const viewer = this.#viewers.get(viewerId);
    if (!viewer) return false;
    this.#viewers.delete(viewerId);
    this.#feed(viewerId)?.cancel();
    this.#feeds.delete(viewerId);
    this.removeDemand(`viewer:${viewerId}`);
    if (this.#viewers.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
    this.emit('viewer-closed', viewerId, reason);
    await viewer.close();
    this.#log.info({ viewer: viewerId, reason, viewers: this.#viewers.size }, 'viewer left');
    return true;
  }

  /**
   * Asks the camera for a keyframe, unless one is on its way (keyframe-requests.ts): at most once
   * per keyframeIntervalMs, and again if none came within KEYFRAME_REQUEST_TIMEOUT_MS.
   */
  requestKeyframe(): void {
    if (this.#closed) return;
    const now = this.deps.now();
    const { send, retryInMs } = this.#keyframes.request(now);
    if (retryInMs !== undefined && !(this.#pendingKeyframe && this.#pendingKeyframe.at <= now + retryInMs)) {
      clearTimeout(this.#pendingKeyframe?.timer);
      this.#pendingKeyframe = {
        at: now + retryInMs,
        timer: setTimeout(() => {
          this.#pendingKeyframe = undefined;
          if (this.#keyframes.wanted) this.requestKeyframe();
        }, retryInMs),
      };
    }
    if (!send) return;
    this.#keyframeRequests++;
    this.#log.debug({ requests: this.#keyframeRequests }, 'keyframe requested from the camera');
    this.#link.requestKeyframe();
  }

  /**
   * A viewer's peer connection is up: it starts from the keyframe cache when that holds a usable
   * keyframe (no request to the camera), otherwise it waits for a keyframe it asks the camera for.
   */
  #prime(viewerId: string): void {
    const viewer = this.#viewers.get(viewerId);
    this.#feed(viewerId)?.cancel(); // connected again: start over
    const burst = this.#cache.burst();
    if (!viewer || !burst) {
      this.requestKeyframe();
      return;
    }
    const primer = new ViewerPrimer(viewer, burst, (outcome) => {
      if (this.#feeds.get(viewerId) === primer) this.#feeds.set(viewerId, viewer);
      if (outcome === 'overflow') {
        viewer.resync();
        this.requestKeyframe();
      }
    });
    this.#feeds.set(viewerId, primer);
    this.#log.debug(
      { viewer: viewerId, packets: burst.packets.length, bytes: burst.bytes },
      'viewer primed from the keyframe cache',
    );
    primer.start();
  }

  /** The viewer's primer, if a burst is being sent to it. */
  #feed(viewerId: string): ViewerPrimer | undefined {
    const feed = this.#feeds.get(viewerId);
    return feed instanceof ViewerPrimer ? feed : undefined;
  }

  /** Says bye to the camera, closes every viewer and peer. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pendingKeyframe?.timer);
    clearInterval(this.#sweep);
    for (const id of this.#viewers.keys()) this.#feed(id)?.cancel();
    this.#feeds.clear();
    this.#cache.clear();
    const link = this.#link.close();
    const viewers = [...this.#viewers];
    this.#viewers.clear();
    for (const [id] of viewers) this.emit('viewer-closed', id, 'camera-closed');
    await Promise.all(viewers.map(([, v]) => v.close()));
    await link;
  }

  /** A browser tab closed without a WHEP DELETE leaves a viewer that never speaks again. */
  #dropSilentViewers(): void {
    for (const [id, viewer] of this.#viewers) {
      if (viewer.silentForMs > this.deps.viewerTimeoutMs) {
        this.#log.info(
          { viewer: id, silentForMs: Math.round(viewer.silentForMs) },
          'viewer timed out (no RTCP)',
        );
        this.removeViewer(id, 'timeout').catch(() => {});
      }
    }
  }
}
