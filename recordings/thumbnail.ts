import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, statSync } from 'node:fs';
import ffmpeg from 'fluent-ffmpeg';
import { LookoutError } from '../core/errors.js';
import type { Archive } from './archive.js';
import { tiedFfmpegPath } from './ffmpeg.js';
import { RunLimiter } from './run-limiter.js';

/** Width of a thumbnail in pixels (the height keeps the picture's shape). */
export const THUMBNAIL_WIDTH = 160;
/** An ffmpeg that has not made one small JPEG by then is stuck (a broken file, a stalled disk). */
const FFMPEG_TIMEOUT_S = 30;

/**
 * Where a segment's thumbnail is cached: beside it, `<name>.thumb.jpg`. Recovery indexes only
 * `.mp4` files; retention deletes the thumbnail with its segment, so the cache is bounded by
 * the archive itself (a few KiB per segment of several MiB).
 */
export function thumbnailPath(segmentFile: string): string {
  return segmentFile.replace(/\.mp4$/, '.thumb.jpg');
}

/**
 * Writes the first keyframe of `input` scaled to `width` pixels as a JPEG at `output`
 * (written beside it under a temporary name, then renamed: a reader never sees half a file).
 * Throws THUMBNAIL_FAILED with ffmpeg's last lines.
 */
export function extractThumbnail(input: string, output: string, width = THUMBNAIL_WIDTH): Promise<void> {
  const temporary = `${output}.${randomBytes(6).toString('hex')}.tmp`;
  return new Promise<void>((resolve, reject) => {
    const command = ffmpeg({ stdoutLines: 20, timeout: FFMPEG_TIMEOUT_S })
      .setFfmpegPath(tiedFfmpegPath())
      .input(input)
      // Decode keyframes only: the first frame written is the segment's first keyframe.
      .inputOptions(['-hide_banner', '-skip_frame', 'nokey'])
      .outputOptions([
        '-map',
        '0:v:0',
        '-frames:v',
        '1',
        '-vf',
        `scale=${width}:-2`,
        '-q:v',
        '5',
        '-an',
        '-y',
      ])
      .output(temporary)
      .format('image2')
      .videoCodec('mjpeg');
    command.on('start', () => {
      (command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc.stdin?.on('error', () => {});
    });
    command.on('end', () => resolve());
    command.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
      const detail = (stderr ?? '').trim().split('\n').slice(-3).join(' | ');
      reject(
        new LookoutError('THUMBNAIL_FAILED', `ffmpeg could not make a thumbnail: ${err.message} ${detail}`),
      );
    });
    command.run();
  }).then(
    () => {
      if (statSync(temporary, { throwIfNoEntry: false })?.size) return renameSync(temporary, output);
      rmSync(temporary, { force: true });
      throw new LookoutError('THUMBNAIL_FAILED', 'ffmpeg found no picture in the segment');
    },
    (err: unknown) => {
      rmSync(temporary, { force: true });
      throw err;
    },
  );
}

export interface ThumbnailLimits {
  /** ffmpeg runs at once, all clients together. */
  overall: number;
  /** ffmpeg runs at once for one API token. */
  perToken: number;
  /** Requests waiting for a run; beyond, THUMBNAIL_BUSY (503). */
  queued: number;
  queuedPerToken: number;
}

const DEFAULT_LIMITS: ThumbnailLimits = { overall: 2, perToken: 1, queued: 64, queuedPerToken: 32 };

/**
 * Thumbnails of recorded segments, made once with ffmpeg and cached beside the segment.
 * Runs of ffmpeg are bounded per token and overall; concurrent requests for the same
 * segment share one run.
 */
export class Thumbnails {
  readonly #limiter: RunLimiter;
  readonly #making = new Map<number, Promise<string>>();

  constructor(
    private readonly archive: Archive,
    limits: ThumbnailLimits = DEFAULT_LIMITS,
  ) {
    this.#limiter = new RunLimiter({
      overall: limits.overall,
      perKey: limits.perToken,
      queued: limits.queued,
      queuedPerKey: limits.queuedPerToken,
      busyCode: 'THUMBNAIL_BUSY',
    });
  }

  /**
   * The JPEG file of a finished segment's thumbnail, made now if it is not cached. `client`
   * names who asks (the token id) for the per-client bound. Throws SEGMENT_NOT_FOUND,
   * SEGMENT_WRITING, THUMBNAIL_BUSY, THUMBNAIL_FAILED.
   */
  async file(deviceId: string, segmentId: number, client: string): Promise<string> {
    const { file } = await this.archive.segmentFile(deviceId, segmentId);
    const jpeg = thumbnailPath(file);
    if (statSync(jpeg, { throwIfNoEntry: false })?.isFile()) return jpeg;
    const running = this.#making.get(segmentId);
    if (running) return running;
    const making = this.#limiter
      .run(client, async () => {
        await extractThumbnail(file, jpeg);
        // Retention may have deleted the segment meanwhile: leave no orphan picture behind.
        if (!statSync(file, { throwIfNoEntry: false })) {
          rmSync(jpeg, { force: true });
          throw new LookoutError('SEGMENT_NOT_FOUND', `segment ${segmentId} was deleted`);
        }
        return jpeg;
      })
      .finally(() => this.#making.delete(segmentId));
    this.#making.set(segmentId, making);
    return making;
  }

  /** ffmpeg runs now and requests waiting (tests, metrics). */
  get load(): { running: number; waiting: number } {
    return this.#limiter.load;
  }
}
