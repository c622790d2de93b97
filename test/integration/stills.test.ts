import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookoutError } from '../../core/errors.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { Archive, type StillKeyframe, type StillKeyframeSource, Stills } from '../../recordings/index.js';
import { decodeKeyframeToJpeg } from '../../recordings/still-jpeg.js';
import { jpegSize } from '../helpers/jpeg.js';
import { recordedFile } from '../helpers/recorded-file.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const ready = requireTool('ffmpeg', ['-version']);

/** One H.264 keyframe as Annex B (SPS, PPS, SEI, IDR), as x264 makes it. */
function keyframe(size: string): Buffer {
  const made = spawnSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=1`, '-frames:v', '1'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264', 'pipe:1'],
  ]);
  if (made.status !== 0) throw new Error(`ffmpeg could not make a keyframe: ${made.stderr}`);
  return made.stdout;
}

/** The media node's side as plain data: keyframes by camera, and what was asked of it. */
class KeyframeTable implements StillKeyframeSource {
  readonly frames = new Map<string, StillKeyframe>();
  readonly woken: string[] = [];
  /** What a wake finds (the camera's first keyframe), by camera. */
  readonly onWake = new Map<string, StillKeyframe>();

  async latest(cameraId: string, known?: { seq: number; workerId: number }) {
    const frame = this.frames.get(cameraId);
    if (!frame) return undefined;
    if (known && known.seq === frame.seq && known.workerId === frame.workerId) {
      const { annexB: _left, ...rest } = frame;
      return rest;
    }
    return frame;
  }

  async wake(cameraId: string) {
    this.woken.push(cameraId);
    return this.onWake.get(cameraId);
  }
}

/** The node the archive's segments are on (a single host: its own). */
const NODE = 'node-test';

describe.runIf(ready)('still pictures: keyframes decoded by ffmpeg, the recording fallback, bounds', () => {
  let tmp: ReturnType<typeof tempDir>;
  let scratchDir: string;
  let registry: Registry;
  let archive: Archive;
  let small: Buffer;

  beforeAll(async () => {
    tmp = tempDir();
    scratchDir = mkdtempSync(path.join(os.tmpdir(), 'lookout-still-test-'));
    registry = await openRegistry({ dataDir: tmp.dir });
    archive = new Archive(registry.recordings, path.join(tmp.dir, 'recordings'), { node: NODE });
    small = keyframe('320x180');
  });

  afterAll(async () => {
    await registry?.close();
    tmp?.remove();
  });

  it('decodes a keyframe into a JPEG, scaling one wider than 640 px down with its shape', async () => {
    const jpeg = await decodeKeyframeToJpeg(small, { scratchDir, timeoutMs: 20_000 });
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpegSize(jpeg)).toEqual({ width: 320, height: 180 });
    const wide = await decodeKeyframeToJpeg(keyframe('1280x720'), { scratchDir, timeoutMs: 20_000 });
    expect(jpegSize(wide)).toEqual({ width: 640, height: 360 });
  }, 60_000);

  it('fails with a code on garbage, at the timeout, and when the request is aborted (ffmpeg gone when it rejects)', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (err: LookoutError) => err.code,
      );
    expect(
      await code(decodeKeyframeToJpeg(Buffer.from('not h264 at all'), { scratchDir, timeoutMs: 20_000 })),
    ).toBe('STILL_FAILED');
    expect(await code(decodeKeyframeToJpeg(small, { scratchDir, timeoutMs: 1 }))).toBe('STILL_TIMEOUT');
    const abort = new AbortController();
    const aborted = code(
      decodeKeyframeToJpeg(small, { scratchDir, timeoutMs: 20_000, signal: abort.signal }),
    );
    abort.abort();
    expect(await aborted).toBe('STILL_ABORTED');
    abort.abort();
    expect(
      await code(decodeKeyframeToJpeg(small, { scratchDir, timeoutMs: 20_000, signal: abort.signal })),
    ).toBe('STILL_ABORTED');
  }, 60_000);

  it('caches a camera picture until a newer keyframe, shares one decode, wakes only when asked, else the newest recording or NO_STILL', async () => {
    const table = new KeyframeTable();
    const stills = new Stills({ keyframes: table, archive });
    try {
      // Nothing streams, nothing recorded: NO_STILL, and the camera was not woken.
      await expect(stills.still('cam1', { wake: false, client: 'a' })).rejects.toMatchObject({
        code: 'NO_STILL',
      });
      expect(table.woken).toEqual([]);
      // Asked to wake: the wake's keyframe.
      table.onWake.set('cam1', { seq: 1, workerId: 0, ageMs: 0, annexB: small });
      const woken = await stills.still('cam1', { wake: true, client: 'a' });
      expect(woken.source).toBe('wake');
      expect(table.woken).toEqual(['cam1']);

      // Streaming: two requests at once share one decode (the same buffer), a third gets the cached one.
      table.frames.set('cam1', { seq: 2, workerId: 0, ageMs: 40, annexB: small });
      const [a, b] = await Promise.all([
        stills.still('cam1', { wake: false, client: 'a' }),
        stills.still('cam1', { wake: false, client: 'b' }),
      ]);
      expect(a.source).toBe('live');
      expect(a.source === 'live' && b.source === 'live' && a.jpeg === b.jpeg).toBe(true);
      const again = await stills.still('cam1', { wake: false, client: 'a' });
      expect(again.source === 'live' && a.source === 'live' && again.jpeg === a.jpeg).toBe(true);
      // A newer keyframe: a new picture.
      table.frames.set('cam1', { seq: 3, workerId: 0, ageMs: 10, annexB: small });
      const newer = await stills.still('cam1', { wake: false, client: 'a' });
      expect(newer.source === 'live' && a.source === 'live' && newer.jpeg !== a.jpeg).toBe(true);
      expect(stills.cacheBytes).toBe(newer.source === 'live' ? newer.jpeg.length : -1);

      // The stream ended: the newest recorded segment's thumbnail.
      table.frames.delete('cam1');
      const now = Date.now();
      for (const [i, name] of ['old', 'new'].entries()) {
        const relative = `cam1/${name}.mp4`;
        recordedFile(path.join(archive.dir, relative), 2, '320x180');
        await registry.recordings.insertComplete({
          node: NODE,
          deviceId: 'cam1',
          startMs: now - 60_000 + i * 10_000,
          endMs: now - 58_000 + i * 10_000,
          durationMs: 2000,
          bytes: statSync(path.join(archive.dir, relative)).size,
          videoCodec: 'h264',
          audioCodec: null,
          path: relative,
        });
      }
      const recorded = await stills.still('cam1', { wake: false, client: 'a' });
      expect(recorded).toMatchObject({ source: 'recording', atMs: now - 50_000 });
      expect(recorded.source === 'recording' && path.basename(recorded.file)).toBe('new.thumb.jpg');
      expect(recorded.source === 'recording' && jpegSize(readFileSync(recorded.file))).toEqual({
        width: 160,
        height: 90,
      });
      expect(table.woken).toEqual(['cam1']);
    } finally {
      stills.close();
    }
  }, 60_000);

  it('refuses decodes past its bounds with STILL_BUSY', async () => {
    const table = new KeyframeTable();
    const stills = new Stills(
      { keyframes: table, archive },
      {
        decodes: { overall: 1, perKey: 1, queued: 0, queuedPerKey: 0 },
        cacheBytes: 1024 * 1024,
        decodeTimeoutMs: 20_000,
        wakeTimeoutMs: 1000,
      },
    );
    try {
      table.frames.set('x1', { seq: 1, workerId: 0, ageMs: 0, annexB: small });
      table.frames.set('x2', { seq: 2, workerId: 0, ageMs: 0, annexB: small });
      const results = await Promise.allSettled([
        stills.still('x1', { wake: false, client: 'a' }),
        stills.still('x2', { wake: false, client: 'a' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((refused.reason as LookoutError).code).toBe('STILL_BUSY');
    } finally {
      stills.close();
    }
  }, 60_000);
});
