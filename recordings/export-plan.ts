import { LookoutError } from '../core/errors.js';
import type { Segment } from '../devices/index.js';

export interface ExportPart {
  /** Path relative to the recordings directory. */
  path: string;
  /** Seconds into the file to start from (concat demuxer `inpoint`). */
  inpoint?: number;
  /** Seconds into the file to stop at (concat demuxer `outpoint`). */
  outpoint?: number;
}

export interface ExportPlan {
  parts: ExportPart[];
  /** The wall-clock span actually covered, within [fromMs, toMs]. */
  startMs: number;
  endMs: number;
  /** Seconds of media expected (gaps between segments are not included). */
  seconds: number;
  /** Upper bound of the output size: the bytes of every segment used. */
  bytes: number;
}

/**
 * Which files, and which parts of them, make up [fromMs, toMs). Only complete segments
 * are used (the Archive turns the one being written into a complete copy first). Throws
 * NO_RECORDINGS when nothing in the range is recorded. Pure.
 */
export function planExport(segments: readonly Segment[], fromMs: number, toMs: number): ExportPlan {
  const usable = segments
    .filter((s) => s.state === 'complete' && s.endMs !== null && s.durationMs !== null && s.durationMs > 0)
    .filter((s) => s.startMs < toMs && s.endMs! > fromMs)
    .sort((a, b) => a.startMs - b.startMs);
  if (usable.length === 0) {
    throw new LookoutError(
      'NO_RECORDINGS',
      `nothing is recorded between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}`,
    );
  }
  const parts: ExportPart[] = [];
  let seconds = 0;
  let bytes = 0;
  for (const segment of usable) {
    const part: ExportPart = { path: segment.path };
    const length = segment.durationMs! / 1000;
    const inpoint = Math.max(0, (fromMs - segment.startMs) / 1000);
    const outpoint = Math.min(length, (toMs - segment.startMs) / 1000);
    if (inpoint > 0.001) part.inpoint = round3(inpoint);
    if (outpoint < length - 0.001) part.outpoint = round3(outpoint);
    seconds += outpoint - inpoint;
    bytes += segment.bytes;
    parts.push(part);
  }
  const first = usable[0]!;
  const last = usable.at(-1)!;
  return {
    parts,
    startMs: Math.max(fromMs, first.startMs),
    endMs: Math.min(toMs, last.endMs!),
    seconds,
    bytes,
  };
}

/** The concat demuxer's list file for a plan, with absolute paths. */
export function concatList(plan: ExportPlan, resolve: (relative: string) => string): string {
  const lines = ['ffconcat version 1.0'];
  for (const part of plan.parts) {
    const file = resolve(part.path);
    // A line break in a name would start a directive of its own in the list.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(file)) {
      throw new LookoutError(
        'EXPORT_FAILED',
        `cannot export ${JSON.stringify(part.path)}: control characters in its name`,
      );
    }
    lines.push(`file '${file.replaceAll("'", "'\\''")}'`);
    if (part.inpoint !== undefined) lines.push(`inpoint ${part.inpoint}`);
    if (part.outpoint !== undefined) lines.push(`outpoint ${part.outpoint}`);
  }
  return `${lines.join('\n')}\n`;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
