import path from 'node:path';
import type { Logger } from '../core/log.js';
import type { GapReason, RecordingStore } from '../devices/index.js';
import type { AudioCodec, VideoCodec } from './rtp-input.js';

/** What one ffmpeg session writes: `<stamp>-00000.mp4`, `<stamp>-00001.mp4`, ... */
export interface SessionFiles {
  stamp: string;
  video: VideoCodec;
  audio: AudioCodec | undefined;
}

/**
 * One camera recorder's rows in the registry: the segment ffmpeg writes and the gap that
 * is open. Every write comes from an ffmpeg, stream or timer callback, so a failure (disk
 * full, the database busy past its timeout, closed under a late callback) is logged,
 * never thrown into the event loop; startup recovery repairs what a lost write left.
 */
export class RecorderIndex {
  #gap: number | undefined;

  constructor(
    private readonly store: RecordingStore,
    private readonly deviceId: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

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
   * its indexed start, else `fallbackStartMs`).
   */
  finishSegment(rowId: number, durationMs: number, bytes: number, fallbackStartMs: number): number {
    const startMs = this.#write('read a segment', () => this.store.get(rowId)?.startMs) ?? fallbackStartMs;
    this.#write('finish a segment', () =>
      this.store.finish(rowId, { endMs: startMs + durationMs, durationMs, bytes }),
    );
    return startMs + durationMs;
  }

  /** Opens a gap of `reason` now, closing the one before. */
  openGap(reason: GapReason): void {
    this.closeGap();
    this.#gap = this.#write('record a gap', () => this.store.openGap(this.deviceId, this.now(), reason));
  }

  /** Closes the open gap (if any) at `at`. */
  closeGap(at = this.now()): void {
    const gap = this.#gap;
    if (gap === undefined) return;
    this.#gap = undefined;
    this.#write('close a gap', () => this.store.closeGap(gap, at));
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
