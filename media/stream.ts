import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RtpPacket } from 'werift';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type PeerOptions, weriftIceServers } from './peer-options.js';
import type { DeviceMessage, IceServer, ParseResult, ServerMessage } from './signaling/messages.js';
import { PROTOCOL_VERSION } from './signaling/messages.js';
import {
  type TimerName,
  type UpstreamAction,
  type UpstreamInput,
  UpstreamSession,
  type UpstreamTimings,
} from './signaling/upstream-session.js';
import { type MediaKind, UpstreamPeer } from './upstream-peer.js';
import { Viewer } from './viewer.js';

export interface StreamDeps {
  send(deviceId: string, message: ServerMessage): void;
  /** ICE servers (with per-session credentials) the camera should use. */
  deviceIceServers(deviceId: string): IceServer[];
  /** ICE servers of the media node's own upstream peer connection, asked per session. */
  upstreamIceServers(): IceServer[];
  peerOptions: PeerOptions;
  timings: UpstreamTimings;
  /** Least time between two keyframe requests sent to the camera. */
  keyframeIntervalMs: number;
  /** Drop a viewer that has sent no RTCP for this long. */
  viewerTimeoutMs: number;
  log: Logger;
}

export type StreamEvents = {
  live: [];
  ended: [];
  /** Every packet from the camera, for taps such as the recorder. */
  rtp: [kind: MediaKind, mimeType: string, packet: RtpPacket];
};

/**
 * One camera: its signaling session (pure state machine + werift upstream peer), its
 * viewers, and its demand. The camera streams only while someone needs it; viewers
 * survive camera restarts and resume on the next keyframe.
 */
export class Stream extends EventEmitter<StreamEvents> {
  readonly #machine: UpstreamSession;
  readonly #timers = new Map<TimerName, NodeJS.Timeout>();
  readonly #viewers = new Map<string, Viewer>();
  readonly #demand = new Set<string>();
  readonly #log: Logger;
  #peer: UpstreamPeer | undefined;
  readonly #closingPeers = new Set<Promise<void>>();
  /** The camera's codecs as last seen (H.264 and Opus until it has streamed). */
  #codecs: Record<MediaKind, string> = { video: 'video/H264', audio: 'audio/opus' };
  #codecsKnown = false;
  #lastKeyframeRequest = 0;
  #pendingKeyframe: NodeJS.Timeout | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly deviceId: string,
    private readonly deps: StreamDeps,
  ) {
    super();
    this.#log = deps.log;
    this.#machine = new UpstreamSession(deps.timings, () => randomBytes(12).toString('base64url'));
  }

  presence(online: boolean): void {
    this.#feed({ kind: 'presence', online });
  }

  signal(result: ParseResult<DeviceMessage>): void {
    if (result.ok) this.#feed({ kind: 'device', message: result.message });
    else {
      this.#log.warn({ code: result.code, reason: result.reason }, 'bad signaling message from device');
      this.#feed({
        kind: 'invalid',
        code: result.code,
        reason: result.reason,
        ...(result.session ? { session: result.session } : {}),
      });
    }
  }

  /** Something (a viewer, the recorder) needs the camera's video. */
  addDemand(holder: string): void {
    this.#demand.add(holder);
    if (this.#demand.size === 1) this.#feed({ kind: 'demand', wanted: true });
  }

  removeDemand(holder: string): void {
    if (this.#demand.delete(holder) && this.#demand.size === 0) this.#feed({ kind: 'demand', wanted: false });
  }

  /** Adds a WHEP viewer for `owner` (an API token id); resolves with the SDP answer. */
  async addViewer(offerSdp: string, owner: string): Promise<{ viewerId: string; answerSdp: string }> {
    const viewerId = randomBytes(12).toString('base64url');
    const viewer = new Viewer(
      viewerId,
      owner,
      this.deps.peerOptions,
      {
        keyframeRequest: () => this.requestKeyframe(),
        state: (state) => {
          if (state === 'connected') this.requestKeyframe();
          else this.removeViewer(viewerId, `peer-${state}`).catch(() => {});
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
    this.addDemand(`viewer:${viewerId}`);
    this.#sweep ??= setInterval(
      () => this.#dropSilentViewers(),
      Math.min(5000, this.deps.viewerTimeoutMs / 2),
    );
    this.#log.info({ viewer: viewerId, owner, viewers: this.#viewers.size }, 'viewer joined');
    return { viewerId, answerSdp };
  }

  /** Where the media node listens for this camera's media now (UDP host candidates of the current session). */
  upstreamHostCandidates(): Array<{ address: string; port: number }> {
    return this.#peer?.localHostCandidates() ?? [];
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
    this.removeDemand(`viewer:${viewerId}`);
    if (this.#viewers.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
    await viewer.close();
    this.#log.info({ viewer: viewerId, reason, viewers: this.#viewers.size }, 'viewer left');
    return true;
  }

  /** Asks the camera for a keyframe, at most once per keyframeIntervalMs (later requests are coalesced). */
  requestKeyframe(): void {
    const wait = this.#lastKeyframeRequest + this.deps.keyframeIntervalMs - Date.now();
    if (wait > 0) {
      this.#pendingKeyframe ??= setTimeout(() => {
        this.#pendingKeyframe = undefined;
        this.requestKeyframe();
      }, wait);
      return;
    }
    this.#lastKeyframeRequest = Date.now();
    this.#peer?.requestKeyframe();
  }

  /** Says bye to the camera, closes every viewer and peer. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#feed({ kind: 'shutdown' });
    this.#closed = true;
    clearTimeout(this.#pendingKeyframe);
    clearInterval(this.#sweep);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#viewers.values()].map((v) => v.close()));
    this.#viewers.clear();
    await this.#peer?.close();
    this.#peer = undefined;
    await Promise.all(this.#closingPeers);
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

  #feed(input: UpstreamInput): void {
    if (this.#closed) return;
    for (const action of this.#machine.handle(input)) this.#execute(action);
  }

  #execute(action: UpstreamAction): void {
    switch (action.do) {
      case 'start':
        this.#start(action.session, action.trickle);
        return;
      case 'applyAnswer': {
        const peer = this.#peer;
        peer?.applyAnswer(action.sdp).catch((err) => {
          this.#log.warn({ err: (err as Error).message }, 'camera answer rejected');
          this.deps.send(this.deviceId, {
            v: PROTOCOL_VERSION,
            type: 'error',
            session: action.session,
            code: 'SDP_REJECTED',
            message: (err as Error).message.slice(0, 500),
          });
          this.#feed({ kind: 'peer', session: action.session, state: 'failed' });
        });
        return;
      }
      case 'addCandidate':
        this.#peer
          ?.addCandidate(action.candidate)
          .catch((err) => this.#log.debug({ err: (err as Error).message }, 'bad ICE candidate from camera'));
        return;
      case 'stop':
        if (this.#peer?.session === action.session) {
          const closing = this.#peer.close();
          this.#closingPeers.add(closing);
          closing.finally(() => this.#closingPeers.delete(closing));
          this.#peer = undefined;
        }
        if (action.bye)
          this.deps.send(this.deviceId, {
            v: PROTOCOL_VERSION,
            type: 'bye',
            session: action.session,
            reason: action.bye,
          });
        return;
      case 'sendError':
        this.deps.send(this.deviceId, {
          v: PROTOCOL_VERSION,
          type: 'error',
          code: action.code,
          message: action.message,
          ...(action.session ? { session: action.session } : {}),
        });
        return;
      case 'setTimer':
        clearTimeout(this.#timers.get(action.name));
        this.#timers.set(
          action.name,
          setTimeout(() => {
            this.#timers.delete(action.name);
            this.#feed({ kind: 'timer', name: action.name });
          }, action.ms),
        );
        return;
      case 'clearTimer':
        clearTimeout(this.#timers.get(action.name));
        this.#timers.delete(action.name);
        return;
      case 'notify':
        this.#log.info(
          { session: action.session, reason: action.reason },
          action.event === 'live' ? 'camera streaming' : 'camera session ended',
        );
        if (action.event === 'live') {
          this.requestKeyframe();
          this.emit('live');
        } else {
          for (const viewer of this.#viewers.values()) viewer.resync();
          this.emit('ended');
        }
        return;
    }
  }

  #start(session: string, trickle: boolean): void {
    const peer = new UpstreamPeer(
      session,
      {
        ...this.deps.peerOptions,
        iceServers: [
          ...this.deps.peerOptions.iceServers,
          ...weriftIceServers(this.deps.upstreamIceServers()),
        ],
      },
      {
        rtp: (kind, mimeType, packet) => {
          if (this.#codecs[kind] !== mimeType && mimeType) this.#codecs[kind] = mimeType;
          if (kind === 'video') this.#codecsKnown = true;
          for (const viewer of this.#viewers.values()) viewer.forward(kind, mimeType, packet);
          this.emit('rtp', kind, mimeType, packet);
        },
        state: (state) => this.#feed({ kind: 'peer', session, state }),
      },
      this.#log.child({ session }),
    );
    this.#peer = peer;
    this.#log.info({ session }, 'offering a session to the camera');
    peer
      .createOffer()
      .then((sdp) => {
        if (this.#peer !== peer) return; // superseded while gathering
        this.deps.send(this.deviceId, {
          v: PROTOCOL_VERSION,
          type: 'offer',
          session,
          sdp,
          iceServers: this.deps.deviceIceServers(this.deviceId),
          trickle,
        });
        // werift gathers before resolving, so the offer is complete; a trickling camera still gets end-of-candidates.
        if (trickle)
          this.deps.send(this.deviceId, { v: PROTOCOL_VERSION, type: 'candidate', session, candidate: null });
      })
      .catch((err) => {
        this.#log.error({ err }, 'could not create an offer');
        this.#feed({ kind: 'peer', session, state: 'failed' });
      });
  }
}
