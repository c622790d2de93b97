import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeConfig } from '../../edge-config/index.js';
import { decodedFrames, launchChromium, openViewer } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { clusterEnv } from '../helpers/cluster-env.js';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { type RunningProcess, startCli, startServe } from '../helpers/processes.js';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * kill -9 of the node that holds a watched and recorded camera and its MQTT session (issue 11,
 * tests): the agent moves to the next broker of its edge config (`mqtt.fallbackUrls`), the
 * surviving node places the camera again (the recorder's reconciliation), the viewer in Chromium
 * (the web app served by the survivor, redirected to the holder before) gets its picture back
 * without a reload, recording goes on on the survivor with the pause marked by its reason, and
 * once the dead node's host is back, a range across the failure exports and plays.
 */
const ready =
  hasRedis() &&
  havePostgres() &&
  requireTool('ffmpeg', ['-version']) &&
  requireTool('ffprobe', ['-version']) &&
  requireTool('chromium', ['--version']);

interface Listing {
  segments: Array<{ id: number; node: string; state: string; start: string; end: string | null }>;
  gaps: Array<{ start: string; end: string | null; reason: string }>;
}

describe.runIf(ready)('a cluster node dies under a watched, recorded camera', () => {
  const tmp = tempDir('lookout-cluster-failover-');
  let redis: TestRedis;
  let postgres: TestPostgres;
  let env: Record<string, string>;
  let token: string;
  let edgeFile: string;
  const nodes = new Map<string, RunningProcess & { http: number; mqtt: number }>();
  let agent: RunningProcess | undefined;
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;

  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const result = await runCli([...args, '--data-dir', path.join(tmp.dir, 'cli')], {
      env: { ...env, ...extraEnv },
      cwd: tmp.dir,
    });
    expect(result.code, `lookout ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const base = (id: string) => `http://127.0.0.1:${nodes.get(id)!.http}`;
  const start = async (id: string) => {
    nodes.set(id, await startServe(path.join(tmp.dir, id), { ...env, LOOKOUT_CLUSTER_NODE_ID: id }));
  };
  const holder = async () => {
    const status = JSON.parse(await cli(['cluster', 'status', '--json'])) as {
      leases: Array<{ cameraId: string; holder: string }>;
    };
    return status.leases.find((l) => l.cameraId === 'cam1')?.holder;
  };
  const listing = async (id: string): Promise<Listing> => {
    const res = await fetch(`${base(id)}/api/devices/cam1/recordings?from=-1h`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Listing;
  };

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    env = clusterEnv(redis.url, await postgres.createDatabase(), tmp.dir, {
      LOOKOUT_RECORDING_SEGMENT_SECONDS: '5',
      LOOKOUT_TURN_MODE: 'off',
    });
    token = (await cli(['token', 'create'])).trim();
    // Node A alone first: it takes the recorded camera's lease; node B joins after.
    await start('node-a');
    await cli(['device', 'add', 'cam1', '--name', 'Porch'], {
      LOOKOUT_MQTT_PUBLIC_URL: `mqtt://127.0.0.1:${nodes.get('node-a')!.mqtt}`,
    });
    await cli(['device', 'update', 'cam1', '--record', 'continuous']);
    await start('node-b');
    edgeFile = path.join(tmp.dir, 'cam1.json');
    const edge = JSON.parse(readFileSync(edgeFile, 'utf8')) as EdgeConfig;
    edge.stream.video = { ...edge.stream.video, width: 320, height: 180, bitrateKbps: 300, fps: 15 };
    // The other node's broker, as `mqtt.fallbackUrls` in the configuration writes it.
    edge.mqtt.fallbackUrls = [`mqtt://127.0.0.1:${nodes.get('node-b')!.mqtt}`];
    writeFileSync(edgeFile, JSON.stringify(edge));
    agent = startCli(['agent', '--config', edgeFile], { cwd: tmp.dir });
    chromium = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await chromium?.close();
    await agent?.stop();
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    await redis?.close();
    await postgres?.stop();
    tmp.remove();
  }, 60_000);

  it('moves the camera to the surviving node: the agent reconnects there, the picture comes back, recording goes on', {
    timeout: 240_000,
  }, async () => {
    await waitFor(async () => (await holder()) === 'node-a', {
      timeoutMs: 30_000,
      what: 'cam1 held by node A',
    });
    await waitFor(
      async () =>
        (await listing('node-b')).segments.some((s) => s.node === 'node-a' && s.state === 'complete'),
      { timeoutMs: 60_000, what: 'a segment recorded on node A' },
    );
    // The web app served by node B: its viewer is redirected to node A, the holder.
    const page: Page = await openViewer(chromium!.browser, base('node-b'), token, 'cam1');
    await waitFor(async () => (await decodedFrames(page, 'cam1')) > 20, {
      timeoutMs: 40_000,
      what: 'frames in Chromium through node B',
    });
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        lookout: { players: Map<string, { pc?: unknown }> };
        oldPc?: unknown;
      };
      g.oldPc = g.lookout.players.get('cam1')?.pc;
    });

    nodes.get('node-a')!.child.kill('SIGKILL');
    const killedAt = Date.now();
    // The agent moves to node B's broker; B places the camera again and records it.
    await waitFor(() => agent!.logs().includes(`"broker":"mqtt://127.0.0.1:${nodes.get('node-b')!.mqtt}"`), {
      timeoutMs: 30_000,
      what: 'the agent connected to node B',
    });
    await waitFor(async () => (await holder()) === 'node-b', {
      timeoutMs: 30_000,
      what: 'cam1 held by node B',
    });
    // The picture comes back in the same page, through a new session (no reload).
    await waitFor(
      async () => {
        const renewed = await page.evaluate(() => {
          const g = globalThis as unknown as {
            lookout: { players: Map<string, { pc?: unknown }> };
            oldPc?: unknown;
          };
          const pc = g.lookout.players.get('cam1')?.pc;
          return pc !== undefined && pc !== g.oldPc;
        });
        return renewed && (await decodedFrames(page, 'cam1')) > 20;
      },
      { timeoutMs: 60_000, what: 'the picture back in Chromium after node A died' },
    );
    const pictureBackS = (Date.now() - killedAt) / 1000;
    // Recording goes on, on node B.
    await waitFor(
      async () =>
        (await listing('node-b')).segments.some((s) => s.node === 'node-b' && s.state === 'complete'),
      { timeoutMs: 60_000, what: 'a segment recorded on node B' },
    );
    expect(pictureBackS).toBeLessThan(60);
    await page.close();

    // The pause is in the archive with its reason: the camera went offline with the node that held
    // its MQTT session, until it was back on node B.
    const after = await listing('node-b');
    const onB = after.segments.find((s) => s.node === 'node-b')!;
    const lastOnA = after.segments.filter((s) => s.node === 'node-a').at(-1)!;
    const gap = after.gaps.find(
      (g) => Date.parse(g.start) >= Date.parse(lastOnA.start) && Date.parse(g.start) <= Date.parse(onB.start),
    );
    expect(gap, JSON.stringify(after)).toBeDefined();
    expect(gap!.reason).toBe('camera-offline');
    expect(Date.parse(gap!.end!)).toBeLessThanOrEqual(Date.parse(onB.start) + 1000);

    // Node A's host comes back (same data directory): its start finishes the segment it was
    // writing when it died, and a range across the failure exports from node B and plays.
    await start('node-a');
    const firstOnA = after.segments.find((s) => s.node === 'node-a')!;
    const finished = await waitFor(
      async () => {
        const now = await listing('node-b');
        const written = now.segments.find((s) => s.id === lastOnA.id);
        return written?.state === 'complete' ? now : undefined;
      },
      { timeoutMs: 30_000, what: "node A's interrupted segment finished by its recovery" },
    );
    const lastOnB = finished.segments.filter((s) => s.node === 'node-b' && s.state === 'complete').at(-1)!;
    const range = `from=${firstOnA.start}&to=${lastOnB.end}`;
    const exported = await fetch(`${base('node-b')}/api/devices/cam1/export.mp4?${range}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('x-lookout-unavailable-nodes')).toBeNull();
    const exportFile = path.join(tmp.dir, 'across-the-failure.mp4');
    writeFileSync(exportFile, Buffer.from(await exported.arrayBuffer()));
    expect(decodeErrors(exportFile)).toBe('');
    // Every complete segment of the range is in it (the gap is not).
    const recordedS = finished.segments
      .filter((s) => s.state === 'complete' && Date.parse(s.start) >= Date.parse(firstOnA.start))
      .filter((s) => Date.parse(s.end!) <= Date.parse(lastOnB.end!))
      .reduce((sum, s) => sum + (Date.parse(s.end!) - Date.parse(s.start)) / 1000, 0);
    expect(probe(exportFile).durationSeconds).toBeGreaterThan(recordedS - 2);
  });
});
