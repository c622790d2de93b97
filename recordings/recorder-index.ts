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

/**
 * One camera recorder's rows in the registry: the segment ffmpeg writes and the gap that
 * is open. Every write comes from an ffmpeg, stream or timer callback, so a failure (disk
 * full, the database busy past its timeout, closed under a late callback) is logged,
 * never thrown into the event loop. A failed gap write or segment reconciliation is kept
 * and retried (`retry()`, and before every later gap write), so the outage of a full disk
 * is still recorded once space returns (issue 9, item 5); what is still left at the next
 * start, startup recovery repairs.
 */
export class RecorderIndex {
  #gap: { id: number | undefined; reason: GapReason; startMs: number } | undefined;
  readonly #deferred: Deferred[] = [];

  constructor(
    private readonly store: RecordingStore,
    private readonly deviceId: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** The reason of the open gap, if any. */
  get gapReason(): GapReason | undefined {
    return this.#gap?.reason;
  }

  /** Indexes segment `index` of a session as `writing`; undefined when the registry refused. */
  openSegment(session: SessionFiles, index: number, startMs: number): number | undefined {
    const file = `${session.stamp}-${String(index).padStart(5, '0')}.mp4`;
    return this.#write('index a new segment', () =>
      this.store.open({
        deviceId: this.deviceId,
        startMs,
        path: path.posix.join(this.deviceId, file),
        videoCodec: session.video,
        audioCodec: session.audio === undefined ? null : session.audio === 'opus' ? 'opus' : 'aac',
      }),
    );
  }

  /**
   * Marks a segment complete with its length and size; returns its wall-clock end (from
   * its indexed start, else `fallbackStartMs`). When the registry refuses, the row is left
   * to reconcile from its file later.
   */
  finishSegment(rowId: number, durationMs: number, bytes: number, fallbackStartMs: number): number {
    const startMs = this.#write('read a segment', () => this.store.get(rowId)?.startMs) ?? fallbackStartMs;
    const done = this.#write('finish a segment', () => {
      this.store.finish(rowId, { endMs: startMs + durationMs, durationMs, bytes });
      return true;
    });
    if (!done) this.#defer({ kind: 'reconcile', rowId });
    return startMs + durationMs;
  }

  /** A segment row interrupted (ffmpeg died or stopped early): made true from its file, now or later. */
  async reconcile(rowId: number, dir: string): Promise<void> {
    if (!(await this.#reconcile(rowId, dir))) this.#defer({ kind: 'reconcile', rowId });
  }

  /** Where this camera's last indexed segment ends (undefined: none, or the registry refused). */
  lastEnd(): number | undefined {
    return this.#write('read the last segment', () => this.store.lastEnd(this.deviceId)) ?? undefined;
  }

  /** Opens a gap of `reason` at `at` (default now), closing the one before. */
  openGap(reason: GapReason, at = this.now()): void {
    this.closeGap(at);
    this.retry();
    const id = this.#write('record a gap', () => this.store.openGap(this.deviceId, at, reason));
    this.#gap = { id, reason, startMs: at };
  }

  /** Closes the open gap (if any) at `at`; a gap whose row could not be written is written now. */
  closeGap(at = this.now()): void {
    const gap = this.#gap;
    if (gap === undefined) return;
    this.#gap = undefined;
    const endMs = Math.max(at, gap.startMs);
    if (gap.id === undefined) {
      const written = this.#write('record a gap', () => {
        this.store.insertGap(this.deviceId, gap.startMs, endMs, gap.reason);
        return true;
      });
      if (!written) this.#defer({ kind: 'insert-gap', reason: gap.reason, startMs: gap.startMs, endMs });
      return;
    }
    const id = gap.id;
    const closed = this.#write('close a gap', () => {
      this.store.closeGap(id, endMs);
      return true;
    });
    if (!closed) this.#defer({ kind: 'close-gap', id, endMs });
  }

  /** Number of writes waiting for a retry. */
  get deferred(): number {
    return this.#deferred.length;
  }

  /**
   * Retries the writes that failed, in order, and an open gap whose row could not be
   * written; stops at the first that fails again. Segment reconciliations need `dir`.
   */
  async retryAll(dir: string): Promise<void> {
    this.retry();
    while (this.#deferred[0]?.kind === 'reconcile') {
      const { rowId } = this.#deferred[0];
      if (!(await this.#reconcile(rowId, dir))) return;
      this.#deferred.shift();
      this.retry();
    }
  }

  /** Retries the failed gap writes at the front of the queue (synchronous ones). */
  retry(): void {
    const gap = this.#gap;
    if (gap && gap.id === undefined) {
      gap.id = this.#quiet(() => this.store.openGap(this.deviceId, gap.startMs, gap.reason));
    }
    for (let next = this.#deferred[0]; next && next.kind !== 'reconcile'; next = this.#deferred[0]) {
      const write = next;
      const ok = this.#quiet(() => {
        if (write.kind === 'insert-gap')
          this.store.insertGap(this.deviceId, write.startMs, write.endMs, write.reason);
        else if (write.kind === 'close-gap') this.store.closeGap(write.id, write.endMs);
        return true;
      });
      if (!ok) return;
      this.#deferred.shift();
    }
  }

  async #reconcile(rowId: number, dir: string): Promise<boolean> {
    try {
      const row = this.store.get(rowId);
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

  #quiet<T>(write: () => T): T | undefined {
    try {
      return write();
    } catch {
      return undefined;
    }
  }

  #write<T>(what: string, write: () => T): T | undefined {
    try {
      return write();
    } catch (err) {
      this.log.error({ err }, `recorder could not ${what} in the registry`);
      return undefined;
    }
  }
}
