/**
 * The latest keyframe of each camera a media worker receives (Annex B H.264, from
 * h264-keyframe.ts), for still pictures of cameras nobody watches. Bounded per camera and in
 * all: a keyframe over the camera's bound is not kept (the older one stays), and past the total
 * the cameras whose keyframe is oldest lose theirs. Pure: clock injected.
 */

export interface KeyframeStoreLimits {
  /** Bytes of one camera's keyframe at most. */
  perCameraBytes: number;
  /** Bytes of all cameras' keyframes together. */
  totalBytes: number;
}

export const KEYFRAME_STORE_LIMITS: KeyframeStoreLimits = {
  perCameraBytes: 2 * 1024 * 1024,
  totalBytes: 32 * 1024 * 1024,
};

export interface StoredKeyframe {
  /** Increases with every keyframe stored (any camera): a newer keyframe has a larger number. */
  seq: number;
  /** When it was stored (the store's clock). */
  at: number;
  data: Uint8Array;
}

export class KeyframeStore {
  /** By camera, in the order their keyframes were stored (oldest first). */
  readonly #frames = new Map<string, StoredKeyframe>();
  #bytes = 0;
  #seq = 0;

  constructor(
    private readonly limits: KeyframeStoreLimits = KEYFRAME_STORE_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Keeps `data` as the camera's latest keyframe; false when it is over the camera's bound. */
  put(cameraId: string, data: Uint8Array): boolean {
    if (data.length > this.limits.perCameraBytes || data.length > this.limits.totalBytes) return false;
    this.delete(cameraId);
    while (this.#bytes + data.length > this.limits.totalBytes) {
      const [oldest] = this.#frames.keys();
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.#frames.set(cameraId, { seq: ++this.#seq, at: this.now(), data });
    this.#bytes += data.length;
    return true;
  }

  get(cameraId: string): StoredKeyframe | undefined {
    return this.#frames.get(cameraId);
  }

  /** Forgets the camera's keyframe (its stream ended, the camera closed). */
  delete(cameraId: string): void {
    const frame = this.#frames.get(cameraId);
    if (!frame) return;
    this.#frames.delete(cameraId);
    this.#bytes -= frame.data.length;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#frames.size;
  }
}
