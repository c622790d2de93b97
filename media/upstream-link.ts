import { randomBytes } from 'node:crypto';
import type { RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';
import { type PeerOptions, weriftIceServers } from './peer-options.js';
import type { DeviceMessage, IceServer, ParseResult, ServerMessage } from './signaling/messages.js';
import { PROTOCOL_VERSION } from './signaling/messages.js';
import { TokenBucket } from './signaling/token-bucket.js';
import {
  type TimerName,
  type UpstreamAction,
  type UpstreamInput,
  UpstreamSession,
  type UpstreamTimings,
} from './signaling/upstream-session.js';
import { type MediaKind, UpstreamPeer } from './upstream-peer.js';

export interface UpstreamLinkDeps {
  send(deviceId: string, message: ServerMessage): void;
  /** ICE servers (with per-session credentials) the camera should use. */
  deviceIceServers(deviceId: string): IceServer[];
  /** ICE servers of the media node's own upstream peer connection, asked per session. */
  upstreamIceServers(): IceServer[];
  peerOptions: PeerOptions;
  timings: UpstreamTimings;
  log: Logger;
  /** Warnings a misbehaving camera could trigger at any rate (shared by the media node). */
  limitLog: RateLimitedLog;
  /** Monotonic milliseconds (injectable for tests). */
  now: () => number;
}

export interface UpstreamLinkHandlers {
  rtp(kind: MediaKind, mimeType: string, packet: RtpPacket): void;
  /** Bytes of the camera's media received. */
  received(bytes: number): void;
  live(): void;
  ended(): void;
}

/**
 * `hello`s acted on per camera: a burst of 3, then one per 2 s. A hello that ends a session
 * builds a new peer connection (sockets, DTLS keys), so this bounds that work for a camera
 * that says hello in a loop; the hellos over it are merged into one acted on later
 * (docs/signaling.md §Limits).
 */
export const HELLO_BURST = 3;
export const HELLO_RATE_PER_SECOND = 0.5;
/** Peer connections of ended sessions still closing, at most, before a new one is built. */
const MAX_CLOSING_PEERS = 2;

/**
 * The thin adapter of one camera's signaling: runs the pure UpstreamSession, executes its
 * actions (timers, MQTT messages, the werift UpstreamPeer). At most one peer is being set up
 * or used, plus at most MAX_CLOSING_PEERS closing: however a camera behaves, its sockets are
 * bounded.
 */
export class UpstreamLink {
  readonly #machine: UpstreamSession;
  readonly #timers = new Map<TimerName, NodeJS.Timeout>();
  readonly #log: Logger;
  #peer: UpstreamPeer | undefined;
  /** The offer of #peer's session, once created. */
  #offerSdp: string | undefined;
  /** A session whose peer waits for a closing one to finish (MAX_CLOSING_PEERS). */
  #pendingStart: string | undefined;
  readonly #closingPeers = new Set<Promise<void>>();
  readonly #helloBucket: TokenBucket;
  /** The newest hello over the limit, acted on when the bucket allows (one, whatever the flood). */
  #pendingHello: DeviceMessage | undefined;
  #helloTimer: NodeJS.Timeout | undefined;
  /** Set while nothing needs the camera's media: its SRTP is held, not decrypted (srtp-hold.ts). */
  #holdWindowMs: (() => number) | undefined;
  #closed = false;

  constructor(
    readonly deviceId: string,
    private readonly deps: UpstreamLinkDeps,
    private readonly handlers: UpstreamLinkHandlers,
  ) {
    this.#log = deps.log;
    this.#machine = new UpstreamSession(deps.timings, () => randomBytes(12).toString('base64url'));
    this.#helloBucket = new TokenBucket(HELLO_BURST, HELLO_RATE_PER_SECOND, deps.now());
  }

  /** `graceMs`: what is left of the hello grace when the camera came online before this link existed. */
  presence(online: boolean, graceMs?: number): void {
    this.#feed({ kind: 'presence', online, ...(graceMs !== undefined ? { graceMs } : {}) });
  }

  demand(wanted: boolean): void {
    this.#feed({ kind: 'demand', wanted });
  }

  /**
   * Holds the camera's SRTP undecrypted, keeping `windowMs()` of it (this session's peer and
   * the next ones), or (undefined) decrypts what was held and stops holding.
   */
  hold(windowMs: (() => number) | undefined): void {
    this.#holdWindowMs = windowMs;
    this.#peer?.hold(windowMs);
  }

  /** Decrypts and delivers what is held, and goes on holding. */
  catchUp(): void {
    this.#peer?.catchUp();
  }

  signal(result: ParseResult<DeviceMessage>): void {
    if (result.ok && result.message.type === 'hello') this.#hello(result.message);
    else if (result.ok) this.#feed({ kind: 'device', message: result.message });
    else {
      this.deps.limitLog.warn(
        `bad-signal:${this.deviceId}`,
        { device: this.deviceId, code: result.code, reason: result.reason },
        'bad signaling message from device',
      );
      this.#feed({
        kind: 'invalid',
        code: result.code,
        reason: result.reason,
        ...(result.session ? { session: result.session } : {}),
      });
    }
  }

  /** Where the media node listens for this camera's media now (UDP host candidates of the current session). */
  hostCandidates(): Array<{ address: string; port: number }> {
    return this.#peer?.localHostCandidates() ?? [];
  }

  /** Peer connections this camera holds now: the current one and those still closing (bounded). */
  get peerCount(): number {
    return (this.#peer ? 1 : 0) + this.#closingPeers.size;
  }

  requestKeyframe(): void {
    this.#peer?.requestKeyframe();
  }

  /** Says bye to the camera and closes every peer. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#feed({ kind: 'shutdown' });
    this.#closed = true;
    clearTimeout(this.#helloTimer);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.#peer?.close();
    this.#peer = undefined;
    await Promise.all(this.#closingPeers);
  }

  /** A hello, held to the hello bucket: over it, the newest is kept and acted on when a token comes. */
  #hello(message: DeviceMessage): void {
    const now = this.deps.now();
    if (this.#pendingHello === undefined && this.#helloBucket.take(now)) {
      this.#feed({ kind: 'device', message });
      return;
    }
    this.#pendingHello = message;
    this.deps.limitLog.warn(
      `hello:${this.deviceId}`,
      { device: this.deviceId, perSecond: HELLO_RATE_PER_SECOND, burst: HELLO_BURST },
      'camera says hello too often: hellos merged',
    );
    if (this.#helloTimer || this.#closed) return;
    this.#helloTimer = setTimeout(
      () => {
        this.#helloTimer = undefined;
        const pending = this.#pendingHello;
        this.#pendingHello = undefined;
        if (pending) this.#hello(pending);
      },
      Math.max(1, this.#helloBucket.msUntilToken(now)),
    );
  }

  #feed(input: UpstreamInput): void {
    if (this.#closed) return;
    for (const action of this.#machine.handle(input)) this.#execute(action);
  }

  #execute(action: UpstreamAction): void {
    switch (action.do) {
      case 'start':
        if (this.#closingPeers.size >= MAX_CLOSING_PEERS) this.#pendingStart = action.session;
        else this.#start(action.session);
        return;
      case 'sendOffer':
        if (this.#peer?.session === action.session && this.#offerSdp) this.#sendOffer(action);
        return;
      case 'applyAnswer':
        this.#applyAnswer(action.session, action.sdp);
        return;
      case 'addCandidate':
        this.#peer
          ?.addCandidate(action.candidate)
          .catch((err) => this.#log.debug({ err: (err as Error).message }, 'bad ICE candidate from camera'));
        return;
      case 'stop':
        this.#stop(action.session);
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
        // "camera streaming" is logged by the peer when the first RTP arrives, not here.
        this.#log.info(
          { session: action.session, reason: action.reason },
          action.event === 'live' ? 'camera connected (ICE and DTLS)' : 'camera session ended',
        );
        if (action.event === 'live') this.handlers.live();
        else this.handlers.ended();
        return;
    }
  }

  #applyAnswer(session: string, sdp: string): void {
    this.#peer?.applyAnswer(sdp).catch((err) => {
      this.#log.warn({ err: (err as Error).message }, 'camera answer rejected');
      this.deps.send(this.deviceId, {
        v: PROTOCOL_VERSION,
        type: 'error',
        session,
        code: 'SDP_REJECTED',
        message: (err as Error).message.slice(0, 500),
      });
      this.#feed({ kind: 'peer', session, state: 'failed' });
    });
  }

  #stop(session: string): void {
    if (this.#pendingStart === session) this.#pendingStart = undefined;
    if (this.#peer?.session !== session) return;
    const closing = this.#peer.close();
    this.#closingPeers.add(closing);
    closing.finally(() => {
      this.#closingPeers.delete(closing);
      this.#startPending();
    });
    this.#peer = undefined;
    this.#offerSdp = undefined;
  }

  /** Builds the peer of a session that waited for closing peers, if it is still the one wanted. */
  #startPending(): void {
    const session = this.#pendingStart;
    if (session === undefined || this.#closed || this.#closingPeers.size >= MAX_CLOSING_PEERS) return;
    this.#pendingStart = undefined;
    if (this.#machine.session === session && this.#machine.phase === 'offering') this.#start(session);
  }

  #sendOffer(action: { session: string; trickle: boolean }): void {
    const { session, trickle } = action;
    this.deps.send(this.deviceId, {
      v: PROTOCOL_VERSION,
      type: 'offer',
      session,
      sdp: this.#offerSdp!,
      iceServers: this.deps.deviceIceServers(this.deviceId),
      trickle,
    });
    // werift gathers before resolving, so the offer is complete; a trickling camera still gets end-of-candidates.
    if (trickle)
      this.deps.send(this.deviceId, { v: PROTOCOL_VERSION, type: 'candidate', session, candidate: null });
  }

  #start(session: string): void {
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
        rtp: (kind, mimeType, packet) => this.handlers.rtp(kind, mimeType, packet),
        received: (bytes) => this.handlers.received(bytes),
        state: (state) => this.#feed({ kind: 'peer', session, state }),
      },
      this.#log.child({ session }),
      this.deps.limitLog,
      this.deps.now,
    );
    this.#peer = peer;
    if (this.#holdWindowMs) peer.hold(this.#holdWindowMs);
    this.#offerSdp = undefined;
    this.#log.info({ session }, 'offering a session to the camera');
    peer
      .createOffer()
      .then((sdp) => {
        if (this.#peer !== peer) return; // superseded while gathering
        this.#offerSdp = sdp;
        this.#feed({ kind: 'offerReady', session });
      })
      .catch((err) => {
        this.#log.error({ err }, 'could not create an offer');
        this.#feed({ kind: 'peer', session, state: 'failed' });
      });
  }
}
