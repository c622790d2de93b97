import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LookoutError } from '../core/errors.js';
import type { Archive } from './archive.js';
import { RunLimiter, type RunLimits } from './run-limiter.js';
import { decodeKeyframeToJpeg } from './still-jpeg.js';
import { Thumbnails } from './thumbnail.js';

/** A camera's latest keyframe as the media node gives it (media/camera-keyframes.ts). */
export interface StillKeyframe {
  seq: number;
  workerId: number;
  ageMs: number;
  annexB?: Buffer;
}

/** What stills need of the media node: the latest keyframe, and a short wake. */
export interface StillKeyframeSource {
  latest(cameraId: string, known?: { seq: number; workerId: number }): Promise<StillKeyframe | undefined>;
  wake(
    cameraId: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<StillKeyframe | undefined>;
}

/** A still picture: a JPEG in memory (from a live keyframe) or a thumbnail file (a recording's). */
export type Still =
  | { source: 'live' | 'wake'; jpeg: Buffer; ageMs: number }
  | { source: 'recording'; file: string; atMs: number };

export interface StillLimits {
  /** ffmpeg decodes at once, overall and per client, and requests waiting for one. */
  decodes: Omit<RunLimits, 'busyCode'>;
  /** JPEGs kept (one per camera, the newest keyframe's), bytes in all. */
  cacheBytes: number;
  decodeTimeoutMs: number;
  /** How long a wake waits for the camera's keyframe. */
  wakeTimeoutMs: number;
}

export const STILL_LIMITS: StillLimits = {
  decodes: { overall: 2, perKey: 2, queued: 32, queuedPerKey: 8 },
  cacheBytes: 16 * 1024 * 1024,
  decodeTimeoutMs: 10_000,
  wakeTimeoutMs: 15_000,
};

interface Cached {
  seq: number;
  workerId: number;
  jpeg: Buffer;
}

/** A decode (or a wake) shared by the requests that want it; aborted when all of them went away. */
interface Shared<T> {
  result: Promise<T>;
  waiters: number;
  controller: AbortController;
}

/**
 * Still pictures of cameras for the live grid (issue 12, item 3): the camera's latest keyframe
 * decoded to a JPEG while the media node receives it (cached until a newer keyframe), else the
 * newest recording's thumbnail, else NO_STILL. A camera is made to stream only when asked
 * (`wake`). ffmpeg runs are bounded (RunLimiter), timed out and killed when their requests end.
 */
export class Stills {
  readonly #cache = new Map<string, Cached>();
  #cacheBytes = 0;
  readonly #limiter: RunLimiter;
  readonly #decoding = new Map<string, Shared<Buffer>>();
  readonly #waking = new Map<string, Shared<StillKeyframe | undefined>>();
  readonly #thumbnails: Thumbnails;
  #scratch: string | undefined;

  constructor(
    private readonly deps: { keyframes: StillKeyframeSource; archive: Archive },
    private readonly limits: StillLimits = STILL_LIMITS,
  ) {
    this.#limiter = new RunLimiter({ ...limits.decodes, busyCode: 'STILL_BUSY' });
    this.#thumbnails = new Thumbnails(deps.archive);
  }

  /**
   * The camera's still picture for `client` (the principal, for the per-client bound). Throws
   * NO_STILL when the camera streams not and has no recording, STILL_BUSY, STILL_FAILED,
   * STILL_TIMEOUT, STILL_ABORTED.
   */
  async still(
    cameraId: string,
    options: { wake: boolean; client: string; signal?: AbortSignal },
  ): Promise<Still> {
    const cached = this.#cache.get(cameraId);
    let live = await this.deps.keyframes.latest(cameraId, cached);
    // The picture of the keyframe it named was dropped from the cache meanwhile: the bytes again.
    if (live && !live.annexB && !this.#isCached(cameraId, live))
      live = await this.deps.keyframes.latest(cameraId);
    if (live) return { source: 'live', jpeg: await this.#jpeg(cameraId, live, options), ageMs: live.ageMs };
    if (options.wake) {
      const woken = await this.#wake(cameraId, options.signal);
      if (woken)
        return { source: 'wake', jpeg: await this.#jpeg(cameraId, woken, options), ageMs: woken.ageMs };
    }
    const recorded = await this.#newestThumbnail(cameraId, options.client);
    if (recorded) return recorded;
    throw new LookoutError(
      'NO_STILL',
      options.wake
        ? `camera '${cameraId}' sent no picture when asked and has no recording`
        : `camera '${cameraId}' is not streaming and has no recording (ask with wake=1 to wake it)`,
    );
  }

  /** JPEGs cached now, bytes (tests, metrics). */
  get cacheBytes(): number {
    return this.#cacheBytes;
  }

  /** Forgets the cached picture of a camera (deleted). */
  forget(cameraId: string): void {
    const entry = this.#cache.get(cameraId);
    if (!entry) return;
    this.#cache.delete(cameraId);
    this.#cacheBytes -= entry.jpeg.length;
  }

  /** Removes the scratch directory; runs in flight end with it. */
  close(): void {
    for (const shared of [...this.#decoding.values(), ...this.#waking.values()]) shared.controller.abort();
    if (this.#scratch) rmSync(this.#scratch, { recursive: true, force: true });
    this.#scratch = undefined;
  }

  async #jpeg(
    cameraId: string,
    frame: StillKeyframe,
    options: { client: string; signal?: AbortSignal },
  ): Promise<Buffer> {
    if (this.#isCached(cameraId, frame)) return this.#cache.get(cameraId)!.jpeg;
    const annexB = frame.annexB;
    if (!annexB) throw new LookoutError('STILL_FAILED', 'the keyframe changed while it was asked for');
    const key = `${cameraId}\n${frame.workerId}\n${frame.seq}`;
    let shared = this.#decoding.get(key);
    if (!shared) {
      const controller = new AbortController();
      const result = this.#limiter
        .run(options.client, () =>
          decodeKeyframeToJpeg(annexB, {
            scratchDir: this.#scratchDir(),
            timeoutMs: this.limits.decodeTimeoutMs,
            signal: controller.signal,
          }),
        )
        .then((jpeg) => {
          this.#remember(cameraId, { seq: frame.seq, workerId: frame.workerId, jpeg });
          return jpeg;
        })
        .finally(() => this.#decoding.delete(key));
      shared = { result, waiters: 0, controller };
      this.#decoding.set(key, shared);
    }
    return this.#await(shared, options.signal);
  }

  /** Waits for a shared run; the last waiter to go away aborts it. */
  #await<T>(shared: Shared<T>, signal: AbortSignal | undefined): Promise<T> {
    shared.waiters++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      if (--shared.waiters === 0) shared.controller.abort();
    };
    signal?.addEventListener('abort', leave, { once: true });
    if (signal?.aborted) leave();
    return shared.result.finally(() => {
      signal?.removeEventListener('abort', leave);
      if (!left) {
        left = true;
        shared.waiters--;
      }
    });
  }

  /** One wake per camera at a time, shared; it ends early when every request waiting for it went away. */
  #wake(cameraId: string, signal: AbortSignal | undefined): Promise<StillKeyframe | undefined> {
    let shared = this.#waking.get(cameraId);
    if (!shared) {
      const controller = new AbortController();
      const result = this.deps.keyframes
        .wake(cameraId, { timeoutMs: this.limits.wakeTimeoutMs, signal: controller.signal })
        .finally(() => this.#waking.delete(cameraId));
      shared = { result, waiters: 0, controller };
      this.#waking.set(cameraId, shared);
    }
    return this.#await(shared, signal);
  }

  async #newestThumbnail(cameraId: string, client: string): Promise<Still | undefined> {
    const store = this.deps.archive.store;
    const lastEnd = await store.lastEnd(cameraId);
    if (lastEnd === null) return undefined;
    const segments = (await store.between(cameraId, lastEnd - 1, lastEnd + 1))
      .filter((s) => s.state === 'complete' && s.endMs !== null)
      .sort((a, b) => b.endMs! - a.endMs!);
    const newest = segments[0];
    if (!newest) return undefined;
    try {
      return {
        source: 'recording',
        file: await this.#thumbnails.file(cameraId, newest.id, client),
        atMs: newest.startMs,
      };
    } catch (err) {
      // Removed by retention meanwhile, or unreadable: no picture from the recordings then.
      if (
        err instanceof LookoutError &&
        (err.code === 'SEGMENT_NOT_FOUND' || err.code === 'THUMBNAIL_FAILED')
      )
        return undefined;
      throw err;
    }
  }

  #isCached(cameraId: string, frame: { seq: number; workerId: number }): boolean {
    const cached = this.#cache.get(cameraId);
    return cached !== undefined && cached.seq === frame.seq && cached.workerId === frame.workerId;
  }

  #remember(cameraId: string, entry: Cached): void {
    const held = this.#cache.get(cameraId);
    // A slower decode of an older keyframe does not replace a newer picture.
    if (held && held.workerId === entry.workerId && held.seq > entry.seq) return;
    this.forget(cameraId);
    if (entry.jpeg.length > this.limits.cacheBytes) return;
    while (this.#cacheBytes + entry.jpeg.length > this.limits.cacheBytes) {
      const [oldest] = this.#cache.keys();
      if (oldest === undefined) break;
      this.forget(oldest);
    }
    this.#cache.set(cameraId, entry);
    this.#cacheBytes += entry.jpeg.length;
  }

  #scratchDir(): string {
    this.#scratch ??= mkdtempSync(path.join(os.tmpdir(), 'lookout-stills-'));
    return this.#scratch;
  }
}
