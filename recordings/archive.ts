import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LookoutError } from '../core/errors.js';
import type { Gap, RecordingStore, Segment } from '../devices/index.js';
import { concatList, type ExportPlan, planExport } from './export-plan.js';
import { probeFile, remuxConcat } from './ffmpeg.js';
import { trimToPlayable } from './recovery.js';

export const EXPORTS_DIR = '.exports';
const MAX_RANGE_MS = 24 * 3_600_000;

/**
 * Reading the archive: what is recorded when, one segment's file, and a time range as one
 * MP4. Works on a data directory whether or not a server is running (the CLI uses it).
 */
export class Archive {
  #exporting = 0;

  constructor(
    readonly store: RecordingStore,
    readonly dir: string,
    private readonly limits: { concurrentExports: number } = { concurrentExports: 2 },
  ) {}

  /**
   * Segments and gaps of a device overlapping [fromMs, toMs). The segment being written
   * shows its size on disk so far (the index learns its size when it is finished).
   */
  list(deviceId: string, fromMs: number, toMs: number): { segments: Segment[]; gaps: Gap[] } {
    return {
      segments: this.store.between(deviceId, fromMs, toMs).map((segment) => {
        if (segment.state !== 'writing') return segment;
        try {
          return { ...segment, bytes: statSync(path.join(this.dir, segment.path)).size };
        } catch {
          return segment;
        }
      }),
      gaps: this.store.gapsBetween(deviceId, fromMs, toMs),
    };
  }

  /** A finished segment and its file. Throws SEGMENT_NOT_FOUND. */
  segmentFile(deviceId: string, id: number): { segment: Segment; file: string; size: number } {
    const segment = this.store.get(id);
    if (!segment || segment.deviceId !== deviceId || segment.state === 'missing') {
      throw new LookoutError('SEGMENT_NOT_FOUND', `device '${deviceId}' has no recorded segment ${id}`);
    }
    const file = path.join(this.dir, segment.path);
    try {
      return { segment, file, size: statSync(file).size };
    } catch {
      throw new LookoutError('SEGMENT_NOT_FOUND', `segment ${id} is indexed but its file is gone`);
    }
  }

  /**
   * Writes [fromMs, toMs) of a device as one MP4 at `output`, stitched without
   * re-encoding. It starts at the keyframe at or before `fromMs` (within one keyframe
   * interval). The segment being written counts up to its last whole fragment (about a
   * second ago). Throws RANGE_TOO_LONG, NO_RECORDINGS, and EXPORT_BUSY when too many
   * exports run at once. `onProgress` first reports (0, total) once the plan is known.
   */
  async export(
    deviceId: string,
    fromMs: number,
    toMs: number,
    output: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<ExportPlan> {
    if (toMs - fromMs > MAX_RANGE_MS) {
      throw new LookoutError('RANGE_TOO_LONG', 'export at most 24 hours at once');
    }
    if (this.#exporting >= this.limits.concurrentExports) {
      throw new LookoutError('EXPORT_BUSY', 'too many exports are running; try again shortly');
    }
    this.#exporting++;
    const scratch = path.join(this.dir, EXPORTS_DIR, randomBytes(8).toString('hex'));
    const snapshots: string[] = [];
    try {
      mkdirSync(path.dirname(scratch), { recursive: true });
      const segments = await Promise.all(
        this.store
          .between(deviceId, fromMs, toMs)
          .map((segment) =>
            segment.state === 'writing' ? this.#snapshot(segment, scratch, snapshots) : segment,
          ),
      );
      const plan = planExport(
        segments.filter((segment) => segment !== undefined),
        fromMs,
        toMs,
      );
      onProgress?.(0, plan.seconds);
      const list = `${scratch}.ffconcat`;
      snapshots.push(list);
      writeFileSync(
        list,
        concatList(plan, (relative) => path.join(this.dir, relative)),
      );
      await remuxConcat(list, output, (seconds) =>
        onProgress?.(Math.min(seconds, plan.seconds), plan.seconds),
      );
      onProgress?.(plan.seconds, plan.seconds);
      return plan;
    } finally {
      this.#exporting--;
      for (const file of snapshots) rmSync(file, { force: true });
    }
  }

  /**
   * A copy of a segment ffmpeg is still writing, cut after its last whole fragment, as a
   * complete segment with its probed duration; undefined when nothing in it plays yet.
   * The copy's path is pushed onto `created` for the caller to delete.
   */
  async #snapshot(segment: Segment, scratch: string, created: string[]): Promise<Segment | undefined> {
    const copy = `${scratch}-${segment.id}.mp4`;
    try {
      copyFileSync(path.join(this.dir, segment.path), copy);
    } catch {
      return undefined; // not created yet, or just finished and renamed by recovery
    }
    created.push(copy);
    const { size } = trimToPlayable(copy);
    if (size === 0) return undefined;
    const { durationSeconds } = await probeFile(copy);
    if (durationSeconds <= 0) return undefined;
    const durationMs = Math.round(durationSeconds * 1000);
    return {
      ...segment,
      path: path.relative(this.dir, copy),
      state: 'complete',
      endMs: segment.startMs + durationMs,
      durationMs,
      bytes: size,
    };
  }

  /** A fresh path for a server-side export; the caller deletes it. */
  tempExportPath(): string {
    const dir = path.join(this.dir, EXPORTS_DIR);
    mkdirSync(dir, { recursive: true });
    return path.join(dir, `${randomBytes(8).toString('hex')}.mp4`);
  }

  /** Removes leftovers of exports interrupted by a crash. */
  clearExports(): void {
    rmSync(path.join(this.dir, EXPORTS_DIR), { recursive: true, force: true });
  }
}
