import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LookoutError } from '../core/errors.js';
import { spawnTied, stopTied } from '../core/tied-process.js';
import { ffmpegPath } from '../media/ffmpeg-path.js';

/** Widest still picture made (a grid tile; a wider camera is scaled down, the shape kept). */
export const STILL_MAX_WIDTH = 640;
/** A JPEG bigger than this is not a still of ours (ffmpeg misbehaving): refused. */
const MAX_JPEG_BYTES = 4 * 1024 * 1024;

export interface DecodeOptions {
  /** Where the keyframe is written for ffmpeg to read (a private directory). */
  scratchDir: string;
  timeoutMs: number;
  /** Aborted (the client went away): ffmpeg is killed at once. */
  signal?: AbortSignal;
}

/**
 * Decodes one H.264 keyframe (Annex B: SPS, PPS, IDR) into a JPEG at most STILL_MAX_WIDTH wide,
 * with ffmpeg tied to this process (core/tied-process.ts), reading the keyframe from a file
 * (the tie holds ffmpeg's stdin) and writing the JPEG to its stdout. Killed at the timeout or
 * when `signal` aborts. Throws STILL_FAILED (ffmpeg's last lines), STILL_TIMEOUT, STILL_ABORTED.
 */
export async function decodeKeyframeToJpeg(annexB: Uint8Array, options: DecodeOptions): Promise<Buffer> {
  if (options.signal?.aborted) throw new LookoutError('STILL_ABORTED', 'the request ended');
  const input = path.join(options.scratchDir, `${randomBytes(8).toString('hex')}.h264`);
  writeFileSync(input, annexB, { mode: 0o600 });
  try {
    return await run(input, options);
  } finally {
    rmSync(input, { force: true });
  }
}

function run(input: string, options: DecodeOptions): Promise<Buffer> {
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-f',
    'h264',
    '-i',
    input,
    '-frames:v',
    '1',
    '-vf',
    `scale='min(${STILL_MAX_WIDTH},iw)':-2`,
    '-q:v',
    '5',
    '-an',
    '-f',
    'image2pipe',
    '-c:v',
    'mjpeg',
    'pipe:1',
  ];
  const child = spawnTied(ffmpegPath(), args, 'pipe');
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let failure: LookoutError | undefined;
    const stop = (error: LookoutError) => {
      failure ??= error;
      void stopTied(child, { now: true });
    };
    const timer = setTimeout(
      () => stop(new LookoutError('STILL_TIMEOUT', `ffmpeg made no picture within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const abort = () => stop(new LookoutError('STILL_ABORTED', 'the request ended'));
    options.signal?.addEventListener('abort', abort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_JPEG_BYTES) return stop(new LookoutError('STILL_FAILED', 'ffmpeg wrote too much'));
      chunks.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('error', (err) => stop(new LookoutError('STILL_FAILED', `cannot run ffmpeg: ${err.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      if (failure) return reject(failure);
      const jpeg = Buffer.concat(chunks);
      if (code === 0 && jpeg.length > 3 && jpeg[0] === 0xff && jpeg[1] === 0xd8) return resolve(jpeg);
      const detail = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(
        new LookoutError('STILL_FAILED', `ffmpeg could not decode the keyframe (exit ${code}): ${detail}`),
      );
    });
  });
}
