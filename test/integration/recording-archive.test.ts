import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { Archive } from '../../recordings/index.js';
import { recoverRecordings } from '../../recordings/recovery.js';
import { applyRetention } from '../../recordings/retention.js';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { recordedFile } from '../helpers/recorded-file.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

/** This process's node id in the recordings index. */
const NODE = 'here';

const haveTools = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);
const MiB = 1_048_576;

describe('the archive on disk: retention and startup recovery (real SQLite, real files)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let registry: Registry;
  let dir: string;

  beforeEach(async () => {
    tmp = tempDir();
    registry = await openRegistry({ dataDir: tmp.dir });
    await registry.devices.add('cam1');
    await registry.devices.add('cam2');
    dir = path.join(tmp.dir, 'recordings');
  });
  afterEach(async () => {
    await registry.close();
    tmp.remove();
  });

  /** A file of `bytes` and its complete index row. */
  async function stored(deviceId: string, startMs: number, bytes: number) {
    const relative = `${deviceId}/${startMs}.mp4`;
    mkdirSync(path.join(dir, deviceId), { recursive: true });
    writeFileSync(path.join(dir, relative), Buffer.alloc(bytes));
    const id = await registry.recordings.insertComplete({
      deviceId,
      node: NODE,
      startMs,
      endMs: startMs + 60_000,
      durationMs: 60_000,
      bytes,
      videoCodec: 'h264',
      audioCodec: null,
      path: relative,
    });
    return { id, file: path.join(dir, relative) };
  }

  it('keeps the archive under the disk quota, oldest first across cameras, never the segment being written', async () => {
    const t0 = Date.now() - 3_600_000;
    const a = await stored('cam1', t0, 1 * MiB);
    const b = await stored('cam2', t0 + 60_000, 1 * MiB);
    const c = await stored('cam1', t0 + 120_000, 1 * MiB);
    const d = await stored('cam2', t0 + 180_000, 1 * MiB);
    const writing = await registry.recordings.open({
      deviceId: 'cam1',
      node: NODE,
      startMs: t0 - 10_000_000,
      path: 'cam1/w.mp4',
      videoCodec: 'h264',
      audioCodec: null,
    });
    const lines: string[] = [];
    const log = silentLogger();
    log.info = ((obj: { reason: string; file: string }) =>
      void lines.push(`${obj.file}: ${obj.reason}`)) as typeof log.info;
    const result = await applyRetention({
      store: registry.recordings,
      node: NODE,
      dir,
      now: Date.now(),
      log,
      policy: { maxAgeHours: 720, maxAgeHoursFor: async () => null, maxDiskBytes: 2.5 * MiB },
    });
    expect(result.deleted).toBe(2);
    expect(existsSync(a.file)).toBe(false);
    expect(existsSync(b.file)).toBe(false);
    expect(existsSync(c.file)).toBe(true);
    expect(existsSync(d.file)).toBe(true);
    expect((await registry.recordings.get(writing))?.state).toBe('writing');
    expect(await registry.recordings.totalBytes(NODE)).toBe(2 * MiB);
    expect(lines).toEqual([
      `cam1/${t0}.mp4: over the disk quota (3 MiB)`,
      `cam2/${t0 + 60_000}.mp4: over the disk quota (3 MiB)`,
    ]);
  });

  it('deletes by age with a per-camera override', async () => {
    const now = Date.now();
    const old1 = await stored('cam1', now - 5 * 3_600_000, 100);
    const old2 = await stored('cam2', now - 5 * 3_600_000, 100);
    const fresh2 = await stored('cam2', now - 3_600_000, 100);
    await applyRetention({
      store: registry.recordings,
      node: NODE,
      dir,
      now,
      log: silentLogger(),
      // cam2 keeps 2 h; everyone else the global 24 h.
      policy: {
        maxAgeHours: 24,
        maxAgeHoursFor: async (id) => (id === 'cam2' ? 2 : null),
        maxDiskBytes: 1e12,
      },
    });
    expect(existsSync(old1.file)).toBe(true);
    expect(existsSync(old2.file)).toBe(false);
    expect(existsSync(fresh2.file)).toBe(true);
  });

  it.runIf(haveTools)(
    'recovers after a crash: trims the open segment, adopts or quarantines unknown files, marks missing ones',
    async () => {
      mkdirSync(path.join(dir, 'cam1'), { recursive: true });
      // A real fragmented MP4 as the recorder writes it (1 s fragments), 6 s long.
      const whole = path.join(dir, 'cam1', 'crashed.mp4');
      recordedFile(whole, 6);
      // The server died in the middle of a fragment.
      truncateSync(whole, Math.floor(statSync(whole).size * 0.7));
      expect(decodeErrors(whole)).not.toBe('');
      const startMs = Date.now() - 60_000;
      const open = await registry.recordings.open({
        deviceId: 'cam1',
        node: NODE,
        startMs,
        path: 'cam1/crashed.mp4',
        videoCodec: 'h264',
        audioCodec: null,
      });
      const gap = await registry.recordings.openGap('cam1', startMs - 5000, 'camera-offline', NODE);
      // A file the index does not know (copied in by hand, or indexed rows lost), and junk.
      const stray = path.join(dir, 'cam2', 'stray.mp4');
      mkdirSync(path.dirname(stray), { recursive: true });
      spawnSync('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=160x90:rate=15',
        '-t',
        '2',
        '-c:v',
        'libx264',
        stray,
      ]);
      writeFileSync(path.join(dir, 'cam2', 'junk.mp4'), 'not a video');
      // A name Lookout never writes (it would go into an ffmpeg concat list): not indexed.
      copyFileSync(stray, path.join(dir, 'cam2', "it's\nnew.mp4"));
      // Folders that are no camera's: left alone.
      mkdirSync(path.join(dir, '.exports', '1'), { recursive: true });
      copyFileSync(stray, path.join(dir, '.exports', '1', 'part.mp4'));
      const gone = await stored('cam1', startMs - 120_000, 100);
      // stored() wrote a zero-filled placeholder; delete it so the row points at nothing.
      spawnSync('rm', [gone.file]);

      const counts = await recoverRecordings({
        store: registry.recordings,
        node: NODE,
        dir,
        log: silentLogger(),
        now: Date.now(),
      });
      expect(counts).toEqual({ recovered: 1, missing: 1, adopted: 1, quarantined: 2 });

      const recovered = (await registry.recordings.get(open))!;
      expect(recovered.state).toBe('complete');
      expect(decodeErrors(whole)).toBe('');
      const real = probe(whole).durationSeconds;
      expect(real).toBeGreaterThan(2);
      expect(real).toBeLessThan(5);
      expect(Math.abs(recovered.durationMs! - real * 1000)).toBeLessThan(100);
      expect(recovered.bytes).toBe(statSync(whole).size);

      expect((await registry.recordings.byPath(NODE, 'cam2/stray.mp4'))?.state).toBe('complete');
      expect(existsSync(path.join(dir, '.quarantine', 'cam2', 'junk.mp4'))).toBe(true);
      expect(existsSync(path.join(dir, '.quarantine', 'cam2', "it's\nnew.mp4"))).toBe(true);
      expect(await registry.recordings.byPath(NODE, '.exports/1/part.mp4')).toBeUndefined();
      expect((await registry.recordings.get(gone.id))?.state).toBe('missing');
      const gaps = await registry.recordings.gapsBetween('cam1', 0, Date.now() + 1000);
      expect(gaps.find((g) => g.id === gap)?.endMs).not.toBeNull();
      expect(gaps.some((g) => g.reason === 'server-down')).toBe(true);
    },
  );

  it.runIf(haveTools)(
    'exports a range although retention deletes its files meanwhile, and skips what is gone',
    async () => {
      const startMs = Date.now() - 600_000;
      const ids: number[] = [];
      for (const i of [0, 1, 2]) {
        const relative = `cam1/s${i}.mp4`;
        recordedFile(path.join(dir, relative), 4);
        ids.push(
          await registry.recordings.insertComplete({
            deviceId: 'cam1',
            node: NODE,
            startMs: startMs + i * 4000,
            endMs: startMs + (i + 1) * 4000,
            durationMs: 4000,
            bytes: statSync(path.join(dir, relative)).size,
            videoCodec: 'h264',
            audioCodec: null,
            path: relative,
          }),
        );
      }
      // The last one's file vanished before the export (indexed, not yet marked missing).
      rmSync(path.join(dir, 'cam1/s2.mp4'));
      const archive = new Archive(registry.recordings, dir, { node: NODE });
      const out = path.join(tmp.dir, 'out.mp4');
      let deleted = false;
      const plan = await archive.export('cam1', startMs, startMs + 12_000, out, async () => {
        if (deleted) return;
        deleted = true;
        // Retention runs once the plan is made, before ffmpeg opens the files.
        await applyRetention({
          store: registry.recordings,
          node: NODE,
          dir,
          now: Date.now(),
          log: silentLogger(),
          policy: { maxAgeHours: 24, maxAgeHoursFor: async () => null, maxDiskBytes: 0 },
        });
      });
      expect(deleted).toBe(true);
      expect(await Promise.all(ids.map((id) => registry.recordings.get(id)))).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      expect(plan.parts).toHaveLength(2);
      expect(plan.seconds).toBe(8);
      expect(Math.abs(probe(out).durationSeconds - 8)).toBeLessThan(0.2);
      expect(decodeErrors(out)).toBe('');
      // Nothing of the export stays behind.
      expect(readdirSync(path.join(dir, '.exports'))).toEqual([]);
    },
  );

  it.runIf(haveTools)(
    'refuses to recover without ffprobe instead of quarantining what it cannot read',
    async () => {
      const stray = path.join(dir, 'cam1', 'stray.mp4');
      recordedFile(stray, 2);
      const open = await registry.recordings.open({
        deviceId: 'cam1',
        node: NODE,
        startMs: Date.now() - 60_000,
        path: 'cam1/stray.mp4',
        videoCodec: 'h264',
        audioCodec: null,
      });
      // A PATH with ffmpeg but no ffprobe (as with only the bundled npm ffmpeg).
      const bin = path.join(tmp.dir, 'bin');
      mkdirSync(bin);
      const ffmpeg = spawnSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(ffmpeg, path.join(bin, 'ffmpeg'));
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          `const { openRegistry } = await import('./devices/index.ts');
         const { recoverRecordings } = await import('./recordings/recovery.ts');
         const { silentLogger } = await import('./core/log.ts');
         const registry = await openRegistry({ dataDir: ${JSON.stringify(tmp.dir)} });
         try {
           await recoverRecordings({ store: registry.recordings, node: 'here', dir: ${JSON.stringify(dir)}, log: silentLogger(), now: Date.now() });
         } catch (err) { console.log(err.code); } finally { registry.close(); }`,
        ],
        { encoding: 'utf8', env: { ...process.env, PATH: bin } },
      );
      expect(run.stdout.trim(), run.stderr).toBe('FFPROBE_NOT_FOUND');
      expect(existsSync(stray)).toBe(true);
      expect((await registry.recordings.get(open))?.state).toBe('writing');
    },
  );

  it("clears exports left by processes that are gone, never a running one's", () => {
    const root = path.join(dir, '.exports');
    const dead = spawnSync('true').pid!;
    for (const owner of [String(process.ppid), String(dead)]) {
      mkdirSync(path.join(root, owner), { recursive: true });
      writeFileSync(path.join(root, owner, 'part.mp4'), 'x');
    }
    writeFileSync(path.join(root, 'old-layout.mp4'), 'x');
    new Archive(registry.recordings, dir, { node: NODE }).clearExports();
    expect(readdirSync(root)).toEqual([String(process.ppid)]);
  });

  it('skips a file retention cannot delete and goes on with the others', async () => {
    const now = Date.now();
    const stuck = await stored('cam1', now - 3 * 3_600_000, 1 * MiB);
    const next = await stored('cam2', now - 2 * 3_600_000, 1 * MiB);
    const kept = await stored('cam1', now - 3_600_000, 1 * MiB);
    // A directory where the file should be: rm cannot remove it (as EACCES or EROFS would stop it).
    rmSync(stuck.file);
    mkdirSync(path.join(stuck.file, 'x'), { recursive: true });
    const result = await applyRetention({
      store: registry.recordings,
      node: NODE,
      dir,
      now,
      log: silentLogger(),
      policy: { maxAgeHours: 24, maxAgeHoursFor: async () => null, maxDiskBytes: 2 * MiB },
    });
    expect(result.deleted).toBe(1);
    expect(await registry.recordings.get(stuck.id)).toBeDefined();
    expect(existsSync(next.file)).toBe(false);
    expect(existsSync(kept.file)).toBe(true);
  });
});
