import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LookoutError } from '../core/errors.js';
import type { Gap, RecordingStore, Segment } from '../devices/index.js';
import { concatList, type ExportPlan, planExport } from './export-plan.js';
import { remuxConcat } from './ffmpeg.js';

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

  /** Segments and gaps of a device overlapping [fromMs, toMs). */
  list(deviceId: string, fromMs: number, toMs: number): { segments: Segment[]; gaps: Gap[] } {
    return {
      segments: this.store.between(deviceId, fromMs, toMs),
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

  /** Which segments a range export would use (throws NO_RECORDINGS, RANGE_TOO_LONG). */
  plan(deviceId: string, fromMs: number, toMs: number): ExportPlan {
    if (toMs - fromMs > MAX_RANGE_MS) {
      throw new LookoutError('RANGE_TOO_LONG', 'export at most 24 hours at once');
    }
    return planExport(this.store.between(deviceId, fromMs, toMs), fromMs, toMs);
  }

  /**
   * Writes [fromMs, toMs) of a device as one MP4 at `output`, stitched without
   * re-encoding. It starts at the keyframe at or before `fromMs` (within one keyframe
   * interval). Throws EXPORT_BUSY when too many exports run at once.
   */
  async export(
    deviceId: string,
    fromMs: number,
    toMs: number,
    output: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<ExportPlan> {
    const plan = this.plan(deviceId, fromMs, toMs);
    if (this.#exporting >= this.limits.concurrentExports) {
      throw new LookoutError('EXPORT_BUSY', 'too many exports are running; try again shortly');
    }
    this.#exporting++;
    const list = path.join(this.dir, EXPORTS_DIR, `${randomBytes(8).toString('hex')}.ffconcat`);
    try {
      mkdirSync(path.dirname(list), { recursive: true });
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
      rmSync(list, { force: true });
    }
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
