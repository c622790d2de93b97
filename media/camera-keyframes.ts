import { randomBytes } from 'node:crypto';
import { LookoutError } from '../core/errors.js';
import type { KeyframeInfo } from './boundary/protocol.js';
import type { MediaRouter } from './router.js';

/** A camera's latest keyframe as the control plane hands it on. */
export interface CameraKeyframe {
  /** Larger for a newer keyframe of the same camera while it stays on its worker. */
  seq: number;
  /** Which worker holds the camera (a keyframe number means something only with it). */
  workerId: number;
  ageMs: number;
  /** Annex B H.264; absent when it is the keyframe the caller said it knows. */
  annexB?: Buffer;
}

/** How often a wake asks the worker whether the keyframe arrived. */
const WAKE_POLL_MS = 200;

/**
 * The latest keyframe of each camera the media node receives, from the worker that holds it
 * (media/keyframe-store.ts), and a short wake of a camera that is not streaming: demand on its
 * feed, as a viewer's, ended as soon as a keyframe arrived or at the timeout. Never places a
 * camera or makes it stream except through `wake`.
 */
export class CameraKeyframes {
  constructor(private readonly router: MediaRouter) {}

  /**
   * The camera's latest keyframe while it streams, or undefined. With `known` (the seq and
   * worker of a keyframe the caller has), the bytes are left out when it is still that one.
   */
  async latest(
    cameraId: string,
    known?: { seq: number; workerId: number },
  ): Promise<CameraKeyframe | undefined> {
    const placement = this.router.placements.get(cameraId);
    if (!placement) return undefined;
    const workerId = placement.channel.workerId;
    let info: KeyframeInfo | null;
    try {
      info = await placement.channel.request('keyframe', {
        cameraId,
        ...(known && known.workerId === workerId ? { knownSeq: known.seq } : {}),
      });
    } catch (err) {
      // The worker died or is being replaced: no keyframe to give now.
      if (err instanceof LookoutError && (err.code === 'MEDIA_WORKER_DIED' || err.code === 'CAMERA_NOT_OPEN'))
        return undefined;
      throw err;
    }
    if (!info) return undefined;
    return {
      seq: info.seq,
      workerId,
      ageMs: info.ageMs,
      ...(info.annexB !== undefined ? { annexB: Buffer.from(info.annexB, 'base64') } : {}),
    };
  }

  /**
   * Asks an online camera for its stream, like a viewer would, until a keyframe of it arrived
   * (or `timeoutMs`, or `signal` aborts), then lets go. Undefined when the camera is offline or
   * no keyframe came in time.
   */
  async wake(
    cameraId: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<CameraKeyframe | undefined> {
    if (!this.router.isOnline(cameraId)) return undefined;
    const holder = `still-wake:${randomBytes(6).toString('base64url')}`;
    const feed = this.router.feed(cameraId);
    feed.addDemand(holder);
    const deadline = performance.now() + options.timeoutMs;
    try {
      while (performance.now() < deadline && !options.signal?.aborted) {
        const frame = await this.latest(cameraId);
        if (frame?.annexB) return frame;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, WAKE_POLL_MS);
          function done() {
            clearTimeout(timer);
            options.signal?.removeEventListener('abort', done);
            resolve();
          }
          options.signal?.addEventListener('abort', done, { once: true });
        });
      }
      return undefined;
    } finally {
      feed.removeDemand(holder);
    }
  }
}
