import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdOf } from '../../config/index.js';
import { runCli } from '../helpers/cli.js';
import { decodeErrors } from '../helpers/media-probe.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

/** The node id a test server runs as (its host name): the index names it as the holder. */
const NODE = nodeIdOf({});

const ready = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']) && canMountTmpfs();

/**
 * Issue 9, item 5: the data directory (registry and recordings) on a small tmpfs that the
 * test fills and frees, with a real camera, real ffmpeg and a real viewer.
 */
describe.runIf(ready)('recording on a disk that fills up', () => {
  let disk: Tmpfs;
  let t: TestServer;
  let viewer: WhepClient | undefined;
  let dataDir: string;
  beforeAll(async () => {
    disk = mountTmpfs(48);
    dataDir = path.join(disk.dir, 'data');
    t = await startTestServer({
      dataDir,
      'recording.segmentSeconds': 5,
      'recording.minFreeMb': 4,
      'media.lingerMs': 0,
    });
    await t.startCamera('cam1', { video: { fps: 15, keyframeIntervalSeconds: 1 }, audio: { codec: 'opus' } });
  }, 30_000);
  afterAll(async () => {
    await viewer?.stop();
    await t?.close();
    disk?.unmount();
  });

  it('pauses recording without crashing, keeps live view, resumes when space returns, records the outage as a gap', async () => {
    const store = t.server.registry.recordings;
    const token = (await t.server.registry.tokens.create('viewer')).token;
    await t.server.registry.devices.setRecording('cam1', { mode: 'continuous' });
    await t.server.recordings.refresh('cam1');
    await waitFor(async () => (await store.inState('complete', NODE)).length >= 1, {
      what: 'a first segment',
      timeoutMs: 30_000,
    });
    const recorder = t.server.recordings.recorder('cam1')!;

    const fullAt = Date.now();
    disk.fill();
    await waitFor(() => recorder.state === 'disk-full', { what: 'recording paused', timeoutMs: 15_000 });
    expect(recorder.segmenter).toBeUndefined();

    // Live view keeps working: a viewer joins now (its token's bookkeeping write fails) and gets video.
    viewer = new WhepClient(t.httpUrl, token);
    const answer = await viewer.play('cam1');
    expect(answer.status).toBe(201);
    await waitFor(() => viewer!.stats.video > 30, {
      what: 'live video while the disk is full',
      timeoutMs: 15_000,
    });
    // Registry writes fail with a code (SQLite may first fill pages its files already hold).
    let refused: unknown;
    for (let i = 0; i < 5000 && !refused; i++) {
      try {
        await t.server.registry.tokens.create(`filler-${i}`);
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toMatchObject({ code: 'DISK_FULL' });
    // ...and the CLI says so in one line, not a stack trace.
    const cli = await runCli(['token', 'create', '--data-dir', dataDir]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/disk holding the data directory is full.*\[DISK_FULL\]/);
    expect(recorder.state).toBe('disk-full');

    const freedAt = Date.now();
    disk.free();
    await waitFor(async () => (await store.inState('complete', NODE)).some((s) => s.startMs >= freedAt), {
      what: 'a segment recorded after space returned',
      timeoutMs: 45_000,
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}; state ${recorder.state}; index ${JSON.stringify(await store.all())}`);
    });

    const gaps = (await store.gapsBetween('cam1', 0, Date.now() + 1000)).filter(
      (g) => g.reason === 'disk-full',
    );
    expect(gaps).toHaveLength(1);
    const gap = gaps[0]!;
    expect(gap.startMs).toBeGreaterThanOrEqual(fullAt - 3000);
    expect(gap.startMs).toBeLessThan(freedAt);
    expect(gap.endMs).not.toBeNull();
    expect(gap.endMs!).toBeGreaterThanOrEqual(freedAt - 1000);
    // The index is consistent: nothing stays `writing` but the segment being written now,
    // every indexed file is there and plays, every file is indexed.
    const writing = await store.inState('writing', NODE);
    expect(writing.length).toBeLessThanOrEqual(1);
    if (writing[0]) expect(writing[0].startMs).toBeGreaterThanOrEqual(freedAt);
    const dir = path.join(dataDir, 'recordings');
    for (const segment of await store.inState('complete', NODE)) {
      expect(existsSync(path.join(dir, segment.path)), segment.path).toBe(true);
      expect(decodeErrors(path.join(dir, segment.path)), segment.path).toBe('');
    }
    for (const file of readdirSync(path.join(dir, 'cam1')).filter((f) => f.endsWith('.mp4'))) {
      expect(await store.byPath(NODE, `cam1/${file}`), file).toBeDefined();
    }
  }, 120_000);
});
