import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeConfig } from '../../edge-config/index.js';
import { runCli } from '../helpers/cli.js';
import { clusterEnv } from '../helpers/cluster-env.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { type RunningProcess, startCli, startServe } from '../helpers/processes.js';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

/**
 * Redis or PostgreSQL stopped for 10 s under a cluster of two nodes (issue 11, tests): the
 * video already flowing to a viewer keeps flowing, what needs the stopped engine is refused with
 * a clear error and a code, and when the engine returns the nodes recover by themselves (no
 * restart of Lookout): the API answers again, both nodes are listed, a new viewer gets video.
 */
const ready = hasRedis() && havePostgres() && requireTool('ffmpeg', ['-version']);
const OUTAGE_MS = 10_000;

describe.runIf(ready)('a cluster through a Redis or PostgreSQL outage', () => {
  const tmp = tempDir('lookout-cluster-outage-');
  let redis: TestRedis;
  let postgres: TestPostgres;
  let env: Record<string, string>;
  let token: string;
  const nodes: Array<RunningProcess & { http: number; mqtt: number; url: string }> = [];
  let agent: RunningProcess | undefined;

  const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
    runCli([...args, '--data-dir', path.join(tmp.dir, 'cli')], {
      env: { ...env, ...extraEnv },
      cwd: tmp.dir,
    });

  const api = (n: number, route: string) =>
    fetch(`${nodes[n]!.url}${route}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    env = clusterEnv(redis.url, await postgres.createDatabase(), tmp.dir);
    const created = await cli(['token', 'create']);
    expect(created.code, created.stderr).toBe(0);
    token = created.stdout.trim();
    for (const id of ['node-a', 'node-b']) {
      const node = await startServe(path.join(tmp.dir, id), { ...env, LOOKOUT_CLUSTER_NODE_ID: id });
      nodes.push({ ...node, url: `http://127.0.0.1:${node.http}` });
    }
    const added = await cli(['device', 'add', 'cam1', '--json'], {
      LOOKOUT_MQTT_PUBLIC_URL: `mqtt://127.0.0.1:${nodes[0]!.mqtt}`,
    });
    expect(added.code, added.stderr).toBe(0);
    const edge = JSON.parse(added.stdout) as EdgeConfig;
    edge.stream.video = { ...edge.stream.video, width: 320, height: 180, bitrateKbps: 300, fps: 15 };
    const file = path.join(tmp.dir, 'cam1.json');
    writeFileSync(file, JSON.stringify(edge));
    agent = startCli(['agent', '--config', file], { cwd: tmp.dir });
    await waitFor(
      async () => {
        const res = await api(0, '/api/devices/cam1');
        return res.ok && ((await res.json()) as { online: boolean }).online;
      },
      { timeoutMs: 30_000, what: 'cam1 online' },
    );
  }, 120_000);

  afterAll(async () => {
    if (process.env.LOOKOUT_TEST_DUMP)
      writeFileSync(process.env.LOOKOUT_TEST_DUMP, `${nodes[0]?.logs()}\n----- agent\n${agent?.logs()}`);
    await agent?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.close();
    await postgres?.stop();
    tmp.remove();
  }, 60_000);

  /** A viewer of cam1 through node A, with video flowing. */
  async function watching(): Promise<WhepClient> {
    const viewer = new WhepClient(nodes[0]!.url, token);
    const res = await viewer.play('cam1');
    expect(res.status, await res.clone().text()).toBe(201);
    await waitFor(() => viewer.stats.keyframes > 0 && viewer.stats.video > 30, {
      timeoutMs: 40_000,
      what: 'video to the viewer',
    });
    return viewer;
  }

  /** Video packets keep arriving through `ms` of outage: never a 3 s silence. */
  async function flowsThrough(viewer: WhepClient, ms: number, during: () => Promise<void>): Promise<void> {
    const until = performance.now() + ms;
    let checked = false;
    while (performance.now() < until) {
      const before = viewer.stats.video;
      await waitFor(() => viewer.stats.video > before + 5, {
        timeoutMs: 3000,
        what: 'video during the outage',
      });
      if (!checked) {
        await during();
        checked = true;
      }
    }
  }

  it('PostgreSQL stopped for 10 s: live video flows on, the registry is refused with REGISTRY_UNAVAILABLE, then recovers', {
    timeout: 120_000,
  }, async () => {
    const viewer = await watching();
    try {
      await postgres.halt();
      try {
        await flowsThrough(viewer, OUTAGE_MS, async () => {
          const res = await waitFor(
            async () => {
              const r = await api(1, '/api/devices');
              return r.status >= 500 ? r : undefined;
            },
            { timeoutMs: 10_000, what: 'the registry refused' },
          );
          expect(res.status).toBe(503);
          expect(((await res.json()) as { code: string }).code).toBe('REGISTRY_UNAVAILABLE');
        });
      } finally {
        await postgres.start();
      }
      await waitFor(async () => (await api(1, '/api/devices')).status === 200, {
        timeoutMs: 20_000,
        what: 'the registry back on node B',
      });
    } finally {
      await viewer.stop();
    }
    // A new viewer after the outage.
    const again = await watching();
    await again.stop();
  });

  it('Redis stopped for 10 s: live video flows on, cluster status is refused with REDIS_UNAVAILABLE, then both nodes are back', {
    timeout: 120_000,
  }, async () => {
    const viewer = await watching();
    try {
      await redis.stop();
      try {
        await flowsThrough(viewer, OUTAGE_MS, async () => {
          const status = await cli(['cluster', 'status']);
          expect(status.code).not.toBe(0);
          expect(status.stderr).toMatch(/\[REDIS_UNAVAILABLE\]/);
        });
      } finally {
        await redis.start();
      }
      // The nodes register again by themselves (the restarted Redis kept nothing).
      await waitFor(
        async () => {
          const status = await cli(['cluster', 'status', '--json']);
          return status.code === 0 && (JSON.parse(status.stdout) as { nodes: unknown[] }).nodes.length === 2;
        },
        { timeoutMs: 30_000, what: 'both nodes listed again' },
      );
    } finally {
      await viewer.stop();
    }
    const again = await watching();
    await again.stop();
  });
});
