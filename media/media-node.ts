import { randomBytes } from 'node:crypto';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { WorkerStats } from './boundary/protocol.js';
import type { CameraFeed } from './camera-feed.js';
import { CameraKeyframes } from './camera-keyframes.js';
import type { MediaRouter, Placement } from './router.js';
import { checkOffer } from './sdp-offer.js';
import { parseTrickleFragment } from './trickle-fragment.js';
import { ViewerAdmission, type ViewerLimits } from './viewer-admission.js';
import type { WorkerPool } from './worker-pool.js';

export interface MediaNodeDeps {
  router: MediaRouter;
  pool: WorkerPool;
  /** Whether a device is registered (and not revoked). */
  deviceExists(deviceId: string): boolean;
  viewerLimits: ViewerLimits;
  log: Logger;
  now?: () => number;
}

/**
 * The media plane as the rest of the server sees it: the WHEP service the HTTP API exposes,
 * camera feeds for the recorder, presence and host candidates for the TURN filter. Cameras and
 * viewers live in media workers (media/engine.ts behind media/boundary/); this side holds only
 * plain data about them (media/router.ts).
 */
export class MediaNode {
  readonly #router: MediaRouter;
  readonly #admission: ViewerAdmission;
  readonly #limitLog: RateLimitedLog;
  readonly #now: () => number;
  #closing = false;
  /** Cameras' latest keyframes (for still pictures) and the short wake of one that does not stream. */
  readonly keyframes: CameraKeyframes;

  constructor(private readonly deps: MediaNodeDeps) {
    this.#router = deps.router;
    this.keyframes = new CameraKeyframes(deps.router);
    this.#admission = new ViewerAdmission(deps.viewerLimits);
    this.#now = deps.now ?? (() => performance.now());
    this.#limitLog = new RateLimitedLog(deps.log, this.#now);
  }

  /**
   * Calls `listener` with each WHEP viewer's time to first frame: from its POST arriving to the
   * start of its first keyframe sent to it, in seconds. Returns the unsubscribe.
   */
  onTimeToFirstFrame(listener: (seconds: number) => void): () => void {
    return this.#router.onViewerFirstFrame((viewer) => listener((this.#now() - viewer.requestedAt) / 1000));
  }

  /** WHEP sessions open now (answered or being set up). */
  get sessionCount(): number {
    let count = 0;
    for (const placement of this.#router.placements.values()) count += placement.viewers.size;
    return count;
  }

  isOnline(deviceId: string): boolean {
    return this.#router.isOnline(deviceId);
  }

  upstreamHostCandidates(): Array<{ address: string; port: number }> {
    return this.#router.upstreamHostCandidates();
  }

  /** The camera's media for consumers in this process (the recorder): an RTP tap while demanded. */
  feed(deviceId: string): CameraFeed {
    return this.#router.feed(deviceId);
  }

  /** Cameras something on this node needs now (a viewer, the recorder): a cluster's demand (D39). */
  camerasInUse(): Set<string> {
    return this.#router.camerasInUse();
  }

  /**
   * Closes the camera on this node now, its viewers and feed included (a cluster node that gave
   * up or lost the camera's lease, D39). Answers how many viewers it had.
   */
  evict(deviceId: string, reason: 'lease-released' | 'lease-lost'): number {
    return this.#router.evict(deviceId, reason);
  }

  /** Which worker slot holds the camera now, if any. */
  workerOf(deviceId: string): number | undefined {
    return this.#router.placements.get(deviceId)?.channel.workerId;
  }

  /** Every ready worker's stats. */
  async stats(): Promise<Array<{ workerId: number; pid: number | undefined } & WorkerStats>> {
    const channels = [...this.deps.pool.ready];
    const stats = await Promise.all(channels.map((c) => c.request('stats', {})));
    return stats.map((s, i) => ({ workerId: channels[i]!.workerId, pid: channels[i]!.pid, ...s }));
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
    // Checked before a worker sees it: werift reads garbage as an offer without media.
    const check = checkOffer(offerSdp);
    if (!check.ok) throw new LookoutError('SDP_INVALID', `not a usable SDP offer: ${check.reason}`);
    const admission = this.#admit(owner);
    const requestedAt = this.#now();
    const viewerId = randomBytes(12).toString('base64url');
    let placement: Placement | undefined;
    try {
      placement = this.#router.place(deviceId);
      placement.viewers.set(viewerId, { owner, answered: false, requestedAt });
      const { answerSdp } = await placement.channel.request('addViewer', {
        cameraId: deviceId,
        viewerId,
        offerSdp,
        owner,
      });
      const viewer = placement.viewers.get(viewerId);
      if (!viewer) throw new LookoutError('MEDIA_WORKER_DIED', 'the session ended while it was being set up');
      viewer.answered = true;
      return { sessionId: viewerId, answerSdp };
    } catch (err) {
      placement?.viewers.delete(viewerId);
      throw err;
    } finally {
      admission.release();
    }
  }

  /** A place for one more session of `owner`, or WHEP_TOKEN_LIMIT / WHEP_CAPACITY (logged once per interval). */
  #admit(owner: string): { release(): void } {
    let byOwner = 0;
    let total = 0;
    for (const placement of this.#router.placements.values()) {
      for (const viewer of placement.viewers.values()) {
        if (!viewer.answered) continue; // being set up: the admission's own reservation counts it
        total++;
        if (viewer.owner === owner) byOwner++;
      }
    }
    const admission = this.#admission.admit(owner, { byOwner, total });
    if (admission.ok) return admission;
    const limits = this.deps.viewerLimits;
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
    const placement = this.#owned(deviceId, sessionId, requester);
    const parsed = parseTrickleFragment(fragment);
    if (!parsed.ok) throw new LookoutError(parsed.code, parsed.reason);
    await placement.channel.request('trickle', {
      cameraId: deviceId,
      viewerId: sessionId,
      candidates: parsed.candidates,
    });
  }

  async deleteSession(deviceId: string, sessionId: string, requester: string): Promise<void> {
    const placement = this.#owned(deviceId, sessionId, requester);
    placement.viewers.delete(sessionId);
    const { removed } = await placement.channel.request('removeViewer', {
      cameraId: deviceId,
      viewerId: sessionId,
      reason: 'deleted',
    });
    if (!removed) throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'no such WHEP session');
  }

  sessionOwners(): ReadonlySet<string> {
    const owners = new Set<string>();
    for (const placement of this.#router.placements.values())
      for (const viewer of placement.viewers.values()) owners.add(viewer.owner);
    return owners;
  }

  sessionCameras(): ReadonlyMap<string, ReadonlySet<string>> {
    const owners = new Map<string, Set<string>>();
    for (const [cameraId, placement] of this.#router.placements) {
      for (const viewer of placement.viewers.values()) {
        const cameras = owners.get(viewer.owner) ?? new Set<string>();
        cameras.add(cameraId);
        owners.set(viewer.owner, cameras);
      }
    }
    return owners;
  }

  async endSessionsOf(owner: string, reason: string, onlyCamera?: string): Promise<number> {
    const ending: Array<Promise<{ removed: boolean }>> = [];
    for (const [cameraId, placement] of this.#router.placements) {
      if (onlyCamera !== undefined && cameraId !== onlyCamera) continue;
      for (const [viewerId, viewer] of [...placement.viewers]) {
        if (viewer.owner !== owner) continue;
        placement.viewers.delete(viewerId);
        ending.push(
          placement.channel
            .request('removeViewer', { cameraId, viewerId, reason })
            .catch(() => ({ removed: true })),
        );
      }
    }
    return (await Promise.all(ending)).filter((r) => r.removed).length;
  }

  /**
   * The placement holding the session, when `requester` owns it. Someone else's session is
   * "not found" like an unknown one, so a token cannot even learn which session ids exist.
   */
  #owned(deviceId: string, sessionId: string, requester: string): Placement {
    const placement = this.#router.placements.get(deviceId);
    const viewer = placement?.viewers.get(sessionId);
    if (!placement || !viewer || viewer.owner !== requester)
      throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'no such WHEP session');
    return placement;
  }

  /** Stops taking sessions (the pool, closed by media/index.ts, closes every camera in its worker). */
  close(): void {
    this.#closing = true;
    this.#router.close();
  }
}
