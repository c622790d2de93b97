import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { recoverRecordings } from '../../recordings/recovery.js';
import { applyRetention } from '../../recordings/retention.js';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const haveTools = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);
const MiB = 1_048_576;

describe('the archive on disk: retention and startup recovery (real SQLite, real files)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let registry: Registry;
  let dir: string;

  beforeEach(() => {
    tmp = tempDir();
    registry = openRegistry({ dataDir: tmp.dir });
    registry.devices.add('cam1');
    registry.devices.add('cam2');
    dir = path.join(tmp.dir, 'recordings');
  });
  afterEach(() => {
    registry.close();
    tmp.remove();
  });

  /** A file of `bytes` and its complete index row. */
  function stored(deviceId: string, startMs: number, bytes: number) {
    const relative = `${deviceId}/${startMs}.mp4`;
    mkdirSync(path.join(dir, deviceId), { recursive: true });
    writeFileSync(path.join(dir, relative), Buffer.alloc(bytes));
    const id = registry.recordings.insertComplete({
      deviceId,
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

  it('keeps the archive under the disk quota, oldest first across cameras, never the segment being written', () => {
    const t0 = Date.now() - 3_600_000;
    const a = stored('cam1', t0, 1 * MiB);
    const b = stored('cam2', t0 + 60_000, 1 * MiB);
    const c = stored('cam1', t0 + 120_000, 1 * MiB);
    const d = stored('cam2', t0 + 180_000, 1 * MiB);
    const writing = registry.recordings.open({
      deviceId: 'cam1',
      startMs: t0 - 10_000_000,
      path: 'cam1/w.mp4',
      videoCodec: 'h264',
      audioCodec: null,
    });
    const lines: string[] = [];
    const log = silentLogger();
    log.info = ((obj: { reason: string; file: string }) =>
      void lines.push(`${obj.file}: ${obj.reason}`)) as typeof log.info;
    const result = applyRetention({
      store: registry.recordings,
      dir,
      now: Date.now(),
      log,
      policy: { maxAgeHours: 720, maxAgeHoursFor: () => null, maxDiskBytes: 2.5 * MiB },
    });
    expect(result.deleted).toBe(2);
    expect(existsSync(a.file)).toBe(false);
    expect(existsSync(b.file)).toBe(false);
    expect(existsSync(c.file)).toBe(true);
    expect(existsSync(d.file)).toBe(true);
    expect(registry.recordings.get(writing)?.state).toBe('writing');
    expect(registry.recordings.totalBytes()).toBe(2 * MiB);
    expect(lines).toEqual([
      `cam1/${t0}.mp4: over the disk quota (3 MiB)`,
      `cam2/${t0 + 60_000}.mp4: over the disk quota (3 MiB)`,
    ]);
  });

  it('deletes by age with a per-camera override', () => {
    const now = Date.now();
    const old1 = stored('cam1', now - 5 * 3_600_000, 100);
    const old2 = stored('cam2', now - 5 * 3_600_000, 100);
    const fresh2 = stored('cam2', now - 3_600_000, 100);
    applyRetention({
      store: registry.recordings,
      dir,
      now,
      log: silentLogger(),
      // cam2 keeps 2 h; everyone else the global 24 h.
      policy: { maxAgeHours: 24, maxAgeHoursFor: (id) => (id === 'cam2' ? 2 : null), maxDiskBytes: 1e12 },
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
      const made = spawnSync('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=160x90:rate=15',
        '-t',
        '6',
        '-c:v',
        'libx264',
        '-g',
        '15',
        '-movflags',
        '+frag_keyframe+empty_moov+default_base_moof',
        '-frag_duration',
        '1000000',
        whole,
      ]);
      expect(made.status).toBe(0);
      // The server died in the middle of a fragment.
      truncateSync(whole, Math.floor(statSync(whole).size * 0.7));
      expect(decodeErrors(whole)).not.toBe('');
      const startMs = Date.now() - 60_000;
      const open = registry.recordings.open({
        deviceId: 'cam1',
        startMs,
        path: 'cam1/crashed.mp4',
        videoCodec: 'h264',
        audioCodec: null,
      });
      const gap = registry.recordings.openGap('cam1', startMs - 5000, 'camera-offline');
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
      const gone = stored('cam1', startMs - 120_000, 100);
      // stored() wrote a zero-filled placeholder; delete it so the row points at nothing.
      spawnSync('rm', [gone.file]);

      const counts = await recoverRecordings({
        store: registry.recordings,
        dir,
        log: silentLogger(),
        now: Date.now(),
      });
      expect(counts).toEqual({ recovered: 1, missing: 1, adopted: 1, quarantined: 1 });

      const recovered = registry.recordings.get(open)!;
      expect(recovered.state).toBe('complete');
      expect(decodeErrors(whole)).toBe('');
      const real = probe(whole).durationSeconds;
      expect(real).toBeGreaterThan(2);
      expect(real).toBeLessThan(5);
      expect(Math.abs(recovered.durationMs! - real * 1000)).toBeLessThan(100);
      expect(recovered.bytes).toBe(statSync(whole).size);

      expect(registry.recordings.byPath('cam2/stray.mp4')?.state).toBe('complete');
      expect(existsSync(path.join(dir, 'quarantine', 'cam2', 'junk.mp4'))).toBe(true);
      expect(registry.recordings.get(gone.id)?.state).toBe('missing');
      const gaps = registry.recordings.gapsBetween('cam1', 0, Date.now() + 1000);
      expect(gaps.find((g) => g.id === gap)?.endMs).not.toBeNull();
      expect(gaps.some((g) => g.reason === 'server-down')).toBe(true);
    },
  );
});
