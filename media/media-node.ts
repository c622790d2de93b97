import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { PeerOptions } from './peer-options.js';
import { checkOffer } from './sdp-offer.js';
import { type DeviceMessage, type IceServer, PROTOCOL_VERSION } from './signaling/messages.js';
import type { MqttSignaling } from './signaling/mqtt-signaling.js';
import type { UpstreamTimings } from './signaling/upstream-session.js';
import { Stream } from './stream.js';
import { parseTrickleFragment } from './trickle-fragment.js';
import { ViewerAdmission, type ViewerLimits } from './viewer-admission.js';

export interface MediaNodeOptions {
  timings: UpstreamTimings;
  keyframeIntervalMs: number;
  viewerTimeoutMs: number;
  viewerLimits: ViewerLimits;
  peerOptions: PeerOptions;
}

export interface MediaNodeDeps {
  signaling: MqttSignaling;
  /** Whether a device is registered (and not revoked). */
  deviceExists(deviceId: string): boolean;
  deviceIceServers(deviceId: string): IceServer[];
  mediaIceServers(): IceServer[];
  log: Logger;
  /** Monotonic milliseconds; performance.now() unless a test injects a clock. */
  now?: () => number;
}

/**
 * The media node: one Stream per camera, created on first need, fed by MQTT signaling.
 * Implements the WHEP service the HTTP API exposes.
 */
export class MediaNode {
  readonly #streams = new Map<string, Stream>();
  readonly #presence = new Map<string, boolean>();
  /** When each online device came online (bounded by the registered devices). */
  readonly #onlineAt = new Map<string, number>();
  /**
   * Each device's last hello since it came online, replayed into its Stream when one is made.
   * Kept even before its presence says online: the two topics have no order between them.
   * Only registered devices can publish signaling (broker ACL), so this is bounded too.
   */
  readonly #hellos = new Map<string, DeviceMessage>();
  readonly #log: Logger;
  readonly #limitLog: RateLimitedLog;
  readonly #now: () => number;
  readonly #admission: ViewerAdmission;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly options: MediaNodeOptions,
    private readonly deps: MediaNodeDeps,
  ) {
    this.#log = deps.log;
    this.#now = deps.now ?? (() => performance.now());
    this.#limitLog = new RateLimitedLog(deps.log, this.#now);
    this.#admission = new ViewerAdmission(options.viewerLimits);
    deps.signaling.on('presence', (deviceId, online) => {
      this.#presence.set(deviceId, online);
      if (!online) {
        this.#onlineAt.delete(deviceId);
        this.#hellos.delete(deviceId);
      } else if (!this.#onlineAt.has(deviceId)) this.#onlineAt.set(deviceId, this.#now());
      this.#streams.get(deviceId)?.presence(online);
    });
    deps.signaling.on('message', (deviceId, result) => {
      if (result.ok && result.message.type === 'hello') {
        // Remembered for a Stream made later: this camera is subscribed, offer it at once.
        this.#hellos.set(deviceId, result.message);
      }
      const stream = this.#streams.get(deviceId);
      if (stream) {
        stream.signal(result);
        return;
      }
      // No stream: nothing was offered. Tell a device that answers anyway; ignore the rest.
      if (!result.ok) {
        this.#limitLog.warn(
          `bad-signal:${deviceId}`,
          { device: deviceId, code: result.code, reason: result.reason },
          'bad signaling message from device',
        );
        deps.signaling.send(deviceId, {
          v: PROTOCOL_VERSION,
          type: 'error',
          code: result.code,
          message: result.reason,
          ...(result.session ? { session: result.session } : {}),
        });
      } else if (result.message.type === 'answer') {
        deps.signaling.send(deviceId, {
          v: PROTOCOL_VERSION,
          type: 'error',
          session: result.message.session,
          code: 'UNKNOWN_SESSION',
          message: 'no offer is waiting for this session',
        });
      }
    });
  }

  /** The camera's Stream, created on first use. */
  stream(deviceId: string): Stream {
    let stream = this.#streams.get(deviceId);
    if (!stream) {
      stream = new Stream(deviceId, {
        send: (id, message) => this.deps.signaling.send(id, message),
        deviceIceServers: (id) => this.deps.deviceIceServers(id),
        upstreamIceServers: () => this.deps.mediaIceServers(),
        peerOptions: this.options.peerOptions,
        timings: this.options.timings,
        keyframeIntervalMs: this.options.keyframeIntervalMs,
        viewerTimeoutMs: this.options.viewerTimeoutMs,
        log: this.#log.child({ device: deviceId }),
        limitLog: this.#limitLog,
        now: this.#now,
      });
      this.#streams.set(deviceId, stream);
      const onlineAt = this.#onlineAt.get(deviceId);
      // The grace runs from when the camera came online, not from when someone first watched.
      const graceLeft =
        onlineAt !== undefined
          ? Math.max(0, this.options.timings.helloGraceMs - (this.#now() - onlineAt))
          : undefined;
      stream.presence(this.#presence.get(deviceId) ?? false, graceLeft);
      const hello = this.#hellos.get(deviceId);
      if (hello) stream.signal({ ok: true, message: hello });
    }
    return stream;
  }

  /**
   * The UDP host candidates (address, port) of every camera session now open or being set up.
   * An embedded TURN server that denies private peers by default asks this before relaying to
   * an address: cameras' relayed media may reach exactly these and nothing else.
   */
  upstreamHostCandidates(): Array<{ address: string; port: number }> {
    return [...this.#streams.values()].flatMap((s) => s.upstreamHostCandidates());
  }

  isOnline(deviceId: string): boolean {
    return this.#presence.get(deviceId) ?? false;
  }

  // --- WhepService -------------------------------------------------------------------

  async createSession(
    deviceId: string,
    offerSdp: string,
    owner: string,
  ): Promise<{ sessionId: string; answerSdp: string }> {
    if (this.#closing) throw new LookoutError('SHUTTING_DOWN', 'the server is shutting down');
    if (!this.deps.deviceExists(deviceId))
      throw new LookoutError('DEVICE_NOT_FOUND', `no device '${deviceId}'`, { deviceId });
    if (!this.isOnline(deviceId)) {
      throw new LookoutError(
        'DEVICE_OFFLINE',
        `camera '${deviceId}' is offline: it is not connected to the broker`,
        { deviceId },
      );
    }
    // Checked before werift sees it: werift reads garbage as an offer without media, which
    // failed later as NO_COMMON_CODEC, after a peer connection and its sockets were made.
    const check = checkOffer(offerSdp);
    if (!check.ok) throw new LookoutError('SDP_INVALID', `not a usable SDP offer: ${check.reason}`);
    const admission = this.#admit(owner);
    try {
      const { viewerId, answerSdp } = await this.stream(deviceId).addViewer(offerSdp, owner);
      return { sessionId: viewerId, answerSdp };
    } finally {
      admission.release();
    }
  }

  /** A place for one more session of `owner`, or WHEP_TOKEN_LIMIT / WHEP_CAPACITY (logged once per interval). */
  #admit(owner: string): { release(): void } {
    let byOwner = 0;
    let total = 0;
    for (const stream of this.#streams.values()) {
      for (const viewer of stream.viewers()) {
        total++;
        if (viewer.owner === owner) byOwner++;
      }
    }
    const admission = this.#admission.admit(owner, { byOwner, total });
    if (admission.ok) return admission;
    const limits = this.options.viewerLimits;
    if (admission.bound === 'total') {
      this.#limitLog.warn(
        'viewers:total',
        { limit: limits.total },
        'WHEP session refused: media.maxViewers reached',
      );
      throw new LookoutError('WHEP_CAPACITY', `the server has its maximum of ${limits.total} viewers`);
    }
    this.#limitLog.warn(
      `viewers:${owner}`,
      { token: owner, limit: limits.perToken },
      'WHEP session refused: media.maxViewersPerToken reached',
    );
    throw new LookoutError(
      'WHEP_TOKEN_LIMIT',
      `this token has its maximum of ${limits.perToken} open WHEP sessions: DELETE one first`,
    );
  }

  async patchSession(
    deviceId: string,
    sessionId: string,
    fragment: string,
    requester: string,
  ): Promise<void> {
    const viewer = this.#owned(deviceId, sessionId, requester);
    const parsed = parseTrickleFragment(fragment);
    if (!parsed.ok) throw new LookoutError(parsed.code, parsed.reason);
    await viewer.addCandidates(parsed.candidates);
  }

  async deleteSession(deviceId: string, sessionId: string, requester: string): Promise<void> {
    this.#owned(deviceId, sessionId, requester);
    const removed = await this.#streams.get(deviceId)?.removeViewer(sessionId, 'deleted');
    if (!removed) throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'no such WHEP session');
  }

  sessionOwners(): ReadonlySet<string> {
    const owners = new Set<string>();
    for (const stream of this.#streams.values())
      for (const viewer of stream.viewers()) owners.add(viewer.owner);
    return owners;
  }

  async endSessionsOf(owner: string, reason: string): Promise<number> {
    const ending: Array<Promise<boolean>> = [];
    for (const stream of this.#streams.values()) {
      const ids = [...stream.viewers()].filter((v) => v.owner === owner).map((v) => v.id);
      for (const id of ids) ending.push(stream.removeViewer(id, reason));
    }
    return (await Promise.all(ending)).filter(Boolean).length;
  }

  /**
   * The session, when `requester` owns it. Someone else's session is "not found" like an
   * unknown one, so a token cannot even learn which session ids exist.
   */
  #owned(deviceId: string, sessionId: string, requester: string) {
    const viewer = this.#streams.get(deviceId)?.viewer(sessionId);
    if (!viewer || viewer.owner !== requester)
      throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'no such WHEP session');
    return viewer;
  }

  /** Idempotent: says bye to every camera and closes every peer connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#streams.values()].map((s) => s.close()));
      this.#streams.clear();
    })();
    return this.#closing;
  }
}
