import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../api/index.js';
import { loadConfig } from '../../config/index.js';
import { silentLogger } from '../../core/log.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { Archive, thumbnailPath } from '../../recordings/index.js';
import { applyRetention } from '../../recordings/retention.js';
import { recordedFile } from '../helpers/recorded-file.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

/** This process's node id in the recordings index. */
const NODE = 'here';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);

/** Width and height of a picture file as ffprobe reads it. */
function pictureSize(file: string): { width: number; height: number } {
  const probe = spawnSync('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=width,height',
    '-of',
    'json',
    file,
  ]);
  return (JSON.parse(probe.stdout.toString()) as { streams: Array<{ width: number; height: number }> })
    .streams[0]!;
}

/** GET /api/devices/:id/recordings/:segment/thumbnail.jpg against real segments ffmpeg made. */
describe.runIf(ready)('segment thumbnails over HTTP', () => {
  let tmp: ReturnType<typeof tempDir>;
  let registry: Registry;
  let http: HttpServer;
  let base: string;
  let token: string;
  let dir: string;
  const ids: number[] = [];
  const files: string[] = [];
  let broken: number;
  const nowMs = Date.now();

  beforeAll(async () => {
    tmp = tempDir();
    registry = await openRegistry({ dataDir: tmp.dir });
    await registry.devices.add('cam1');
    token = (await registry.tokens.create('test')).token;
    dir = path.join(tmp.dir, 'recordings');
    // Four 3 s segments; the first one three hours old (for retention).
    for (let i = 0; i < 4; i++) {
      const relative = `cam1/s${i}.mp4`;
      const file = path.join(dir, relative);
      recordedFile(file, 3, '640x360');
      const startMs = i === 0 ? nowMs - 3 * 3_600_000 : nowMs - 600_000 + i * 3000;
      files.push(file);
      ids.push(
        await registry.recordings.insertComplete({
          deviceId: 'cam1',
          node: NODE,
          startMs,
          endMs: startMs + 3000,
          durationMs: 3000,
          bytes: statSync(file).size,
          videoCodec: 'h264',
          audioCodec: null,
          path: relative,
        }),
      );
    }
    // A file that is no video at all, indexed as a finished segment.
    writeFileSync(path.join(dir, 'cam1/broken.mp4'), 'not a video');
    broken = await registry.recordings.insertComplete({
      deviceId: 'cam1',
      node: NODE,
      startMs: nowMs - 60_000,
      endMs: nowMs - 57_000,
      durationMs: 3000,
      bytes: 11,
      videoCodec: 'h264',
      audioCodec: null,
      path: 'cam1/broken.mp4',
    });
    const archive = new Archive(registry.recordings, dir, { node: NODE });
    http = await createHttpServer(
      {
        ...loadConfig().http,
        host: '127.0.0.1',
        port: 0,
        maxConnectionsPerAddress: 64,
        maxConnections: 1024,
      },
      {
        devices: registry.devices,
        recordings: { archive, devices: registry.devices, policyChanged: () => {} },
        tokens: registry.tokens,
        log: silentLogger(),
        version: 'test',
      },
    );
    base = `http://127.0.0.1:${http.address().port}`;
  }, 60_000);

  afterAll(async () => {
    await http?.close();
    await registry?.close();
    tmp?.remove();
  });

  const url = (segment: string | number, device = 'cam1') =>
    `${base}/api/devices/${device}/recordings/${segment}/thumbnail.jpg`;
  const auth = () => ({ authorization: `Bearer ${token}` });

  it("serves a segment's first keyframe as a 160 px JPEG, cached beside the segment", async () => {
    const res = await fetch(url(ids[1]!), { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toMatch(/max-age=86400/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 2).toString('hex')).toBe('ffd8');
    const cached = thumbnailPath(files[1]!);
    expect(existsSync(cached)).toBe(true);
    expect(statSync(cached).size).toBe(body.length);
    // 640x360 scaled to 160 wide keeps its shape; a small picture, not a frame dump.
    expect(pictureSize(cached)).toEqual({ width: 160, height: 90 });
    expect(body.length).toBeLessThan(20_000);

    // Asked again: the same file, not made again (its modification time is unchanged).
    const made = statSync(cached).mtimeMs;
    const again = await fetch(`${url(ids[1]!)}?access_token=${token}`);
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer())).toEqual(body);
    expect(statSync(cached).mtimeMs).toBe(made);
  });

  it('makes many at once for one client (queued, not refused), leaving no temporary files', async () => {
    const all = await Promise.all(
      [ids[0]!, ids[2]!, ids[3]!, ids[2]!, ids[3]!].map((id) => fetch(url(id), { headers: auth() })),
    );
    for (const res of all) {
      expect(res.status).toBe(200);
      expect(
        Buffer.from(await res.arrayBuffer())
          .subarray(0, 2)
          .toString('hex'),
      ).toBe('ffd8');
    }
    for (const file of files) expect(existsSync(thumbnailPath(file))).toBe(true);
    expect(readdirSync(path.join(dir, 'cam1')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('answers coded problems: no token, unknown segment or device, bad id, undecodable file', async () => {
    const noToken = await fetch(url(ids[1]!));
    expect(noToken.status).toBe(401);
    const unknown = await fetch(url(999_999), { headers: auth() });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('SEGMENT_NOT_FOUND');
    const device = await fetch(url(ids[1]!, 'nocam'), { headers: auth() });
    expect(device.status).toBe(404);
    expect(((await device.json()) as { code: string }).code).toBe('DEVICE_NOT_FOUND');
    const badId = await fetch(url('1.mp4'), { headers: auth() });
    expect(badId.status).toBe(400);
    const undecodable = await fetch(url(broken), { headers: auth() });
    expect(undecodable.status).toBe(500);
    expect(((await undecodable.json()) as { code: string }).code).toBe('THUMBNAIL_FAILED');
    expect(readdirSync(path.join(dir, 'cam1')).filter((f) => f.includes('broken.thumb'))).toEqual([]);
  }, 30_000);

  it('is deleted by retention with its segment', async () => {
    expect(existsSync(thumbnailPath(files[0]!))).toBe(true);
    const result = await applyRetention({
      store: registry.recordings,
      node: NODE,
      dir,
      policy: {
        maxAgeHours: 2,
        maxAgeHoursFor: async () => undefined,
        maxDiskBytes: Number.MAX_SAFE_INTEGER,
      },
      now: Date.now(),
      log: silentLogger(),
    });
    expect(result.deleted).toBe(1);
    expect(existsSync(files[0]!)).toBe(false);
    expect(existsSync(thumbnailPath(files[0]!))).toBe(false);
    expect(existsSync(thumbnailPath(files[1]!))).toBe(true);
    const gone = await fetch(url(ids[0]!), { headers: auth() });
    expect(gone.status).toBe(404);
  });
});
