import path from 'node:path';
import type { Logger } from '../core/log.js';
import type { GapReason, RecordingStore } from '../devices/index.js';
import { recoverSegment } from './recovery.js';
import type { AudioCodec, VideoCodec } from './rtp-input.js';

/** What one ffmpeg session writes: `<stamp>-00000.mp4`, `<stamp>-00001.mp4`, ... */
export interface SessionFiles {
  stamp: string;
  video: VideoCodec;
  audio: AudioCodec | undefined;
}

/** Writes kept for a retry at most: a registry refusing writes for days must not grow memory. */
const MAX_DEFERRED = 100;

type Deferred =
  | { kind: 'insert-gap'; reason: GapReason; startMs: number; endMs: number }
  | { kind: 'close-gap'; id: number; endMs: number }
  | { kind: 'reconcile'; rowId: number };

interface OpenGap {
  reason: GapReason;
  startMs: number;
  /** The row, once written; undefined while its write is queued or after it failed. */
  id: number | undefined;
  /** Its write has run (so `id === undefined` means it failed). */
  attempted: boolean;
}

/**
 * One camera recorder's rows in the registry: the segment ffmpeg writes and the gap that
 * is open. The registry answers asynchronously (docs/decisions.md D29), so the writes go
 * through one queue and reach it in the order the recorder made them: a gap is closed
 * after it was opened, a segment finished after it was indexed, whatever the latency.
 *
 * Every write comes from an ffmpeg, stream or timer callback, so a failure (disk full, the
 * database busy or unreachable, closed under a late callback) is logged, never thrown into
 * the event loop. A failed gap write or segment reconciliation is kept and retried (before
 * every later gap write, and by `retryAll()`), so the outage of a full disk is still recorded
 * once space returns (issue 9, item 5); what is still left at the next start, startup
 * recovery repairs.
 */
export class RecorderIndex {
  #gap: OpenGap | undefined;
  readonly #deferred: Deferred[] = [];
  /** The tail of the write queue; never rejects. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: RecordingStore,
    private readonly deviceId: string,
    private readonly log: Logger,
    private readonly now: () => number,
    /** This node: the holder of the files it indexes and the recorder of its gaps (D40). */
    private readonly node: string,
  ) {}

  /** The reason of the open gap, if any. */
  get gapReason(): GapReason | undefined {
    return this.#gap?.reason;
  }

  /** Number of writes waiting for a retry. */
  get deferred(): number {
    return this.#deferred.length;
  }

  /** Resolves once every write queued so far has been made (or has failed). */
  idle(): Promise<void> {
    return this.#enqueue(async () => {});
  }

  /** Indexes segment `index` of a session as `writing`; resolves to undefined when the registry refused. */
  openSegment(session: SessionFiles, index: number, startMs: number): Promise<number | undefined> {
    const file = `${session.stamp}-${String(index).padStart(5, '0')}.mp4`;
    return this.#enqueue(() =>
      this.#write('index a new segment', () =>
        this.store.open({
          deviceId: this.deviceId,
          node: this.node,
          startMs,
          path: path.posix.join(this.deviceId, file),
          videoCodec: session.video,
          audioCodec: session.audio === undefined ? null : session.audio === 'opus' ? 'opus' : 'aac',
        }),
      ),
    );
  }

  /**
   * Marks a segment complete with its length and size; returns its wall-clock end. When the
   * registry refuses, the row is left to reconcile from its file later.
   */
  finishSegment(
    rowId: Promise<number | undefined>,
    startMs: number,
    durationMs: number,
    bytes: number,
  ): number {
    const endMs = startMs + durationMs;
    void this.#enqueue(async () => {
      const id = await rowId;
      if (id === undefined) return;
      const done = await this.#write('finish a segment', async () => {
        await this.store.finish(id, { endMs, durationMs, bytes });
        return true;
      });
      if (!done) this.#defer({ kind: 'reconcile', rowId: id });
    });
    return endMs;
  }

  /** A segment row interrupted (ffmpeg died or stopped early): made true from its file, now or later. */
  reconcile(rowId: Promise<number | undefined>, dir: string): Promise<void> {
    return this.#enqueue(async () => {
      const id = await rowId;
      if (id !== undefined && !(await this.#reconcile(id, dir)))
        this.#defer({ kind: 'reconcile', rowId: id });
    });
  }

  /** Where this camera's last indexed segment ends (undefined: none, or the registry refused). */
  lastEnd(): Promise<number | undefined> {
    return this.#enqueue(
      async () =>
        (await this.#write('read the last segment', () => this.store.lastEnd(this.deviceId))) ?? undefined,
    );
  }

  /** Opens a gap of `reason` at `at` (default now), closing the one before. */
  openGap(reason: GapReason, at = this.now()): void {
    this.closeGap(at);
    const gap: OpenGap = { reason, startMs: at, id: undefined, attempted: false };
    this.#gap = gap;
    void this.#enqueue(async () => {
      await this.#retryGaps();
      gap.id = await this.#write('record a gap', () =>
        this.store.openGap(this.deviceId, at, reason, this.node),
      );
      gap.attempted = true;
    });
  }

  /** Closes the open gap (if any) at `at`; a gap whose row could not be written is written now. */
  closeGap(at = this.now()): void {
    const gap = this.#gap;
    if (gap === undefined) return;
    this.#gap = undefined;
    const endMs = Math.max(at, gap.startMs);
    void this.#enqueue(async () => {
      // The gap's own write ran before this one (the queue keeps order).
      if (gap.id === undefined) {
        const written = await this.#write('record a gap', async () => {
          await this.store.insertGap(this.deviceId, gap.startMs, endMs, gap.reason, this.node);
          return true;
        });
        if (!written) this.#defer({ kind: 'insert-gap', reason: gap.reason, startMs: gap.startMs, endMs });
        return;
      }
      const id = gap.id;
      const closed = await this.#write('close a gap', async () => {
        await this.store.closeGap(id, endMs);
        return true;
      });
      if (!closed) this.#defer({ kind: 'close-gap', id, endMs });
    });
  }

  /**
   * Retries the writes that failed, in order, and an open gap whose row could not be
   * written; stops at the first that fails again. Segment reconciliations need `dir`.
   */
  retryAll(dir: string): Promise<void> {
    return this.#enqueue(async () => {
      await this.#retryGaps();
      while (this.#deferred[0]?.kind === 'reconcile') {
        const { rowId } = this.#deferred[0];
        if (!(await this.#reconcile(rowId, dir))) return;
        this.#deferred.shift();
        await this.#retryGaps();
      }
    });
  }

  /** Retries the failed gap writes at the front of the queue (run inside the write queue). */
  async #retryGaps(): Promise<void> {
    const gap = this.#gap;
    if (gap?.attempted && gap.id === undefined) {
      gap.id = await this.#quiet(() => this.store.openGap(this.deviceId, gap.startMs, gap.reason, this.node));
    }
    for (let next = this.#deferred[0]; next && next.kind !== 'reconcile'; next = this.#deferred[0]) {
      const write = next;
      const ok = await this.#quiet(async () => {
        if (write.kind === 'insert-gap')
          await this.store.insertGap(this.deviceId, write.startMs, write.endMs, write.reason, this.node);
        else if (write.kind === 'close-gap') await this.store.closeGap(write.id, write.endMs);
        return true;
      });
      if (!ok) return;
      this.#deferred.shift();
    }
  }

  async #reconcile(rowId: number, dir: string): Promise<boolean> {
    try {
      const row = await this.store.get(rowId);
      if (row?.state === 'writing') await recoverSegment(this.store, dir, row, this.log);
      return true;
    } catch (err) {
      this.log.warn({ err, rowId }, 'could not reconcile a segment yet; will retry');
      return false;
    }
  }

  #defer(write: Deferred): void {
    if (this.#deferred.length >= MAX_DEFERRED) {
      this.log.error(
        { dropped: this.#deferred.shift() },
        'too many registry writes waiting; startup recovery will repair',
      );
    }
    this.#deferred.push(write);
  }

  /** Runs `work` after everything queued before it. */
  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #quiet<T>(write: () => Promise<T>): Promise<T | undefined> {
    try {
      return await write();
    } catch {
      return undefined;
    }
  }

  async #write<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    try {
      return await write();
    } catch (err) {
      this.log.error({ err }, `recorder could not ${what} in the registry`);
      return undefined;
    }
  }
}
