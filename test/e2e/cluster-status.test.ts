import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type RunningProcess, startServe } from '../helpers/processes.js';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Two real `lookout serve` nodes join one Redis (a real redis-server of the test's own);
 * `lookout cluster status` lists them with their addresses, and a node killed with -9 leaves
 * the list by itself once its entry expires.
 */
const available = hasRedis();
const tmp = tempDir('lookout-cluster-');
let redis: TestRedis;
const servers: RunningProcess[] = [];

beforeAll(async () => {
  if (available) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.close();
  tmp.remove();
});

const clusterEnv = () => ({
  LOOKOUT_CLUSTER_REDIS_URL: redis.url,
  LOOKOUT_CLUSTER_HEARTBEAT_MS: '300',
  LOOKOUT_CLUSTER_NODE_TTL_MS: '1500',
  LOOKOUT_MEDIA_WORKERS: '0',
});

interface Status {
  nodes: Array<{ id: string; http: string; mqtt: string; load: { cameras: number } }>;
}

async function status(): Promise<Status> {
  const result = await runCli(['cluster', 'status', '--json'], { env: clusterEnv() });
  if (result.code !== 0) throw new Error(`cluster status failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Status;
}

describe.skipIf(!available)('lookout cluster status', () => {
  it('lists the live nodes with their addresses; a node killed with -9 leaves by itself', async () => {
    const a = await startServe(path.join(tmp.dir, 'a'), {
      ...clusterEnv(),
      LOOKOUT_CLUSTER_NODE_ID: 'node-a',
    });
    servers.push(a);
    const b = await startServe(path.join(tmp.dir, 'b'), {
      ...clusterEnv(),
      LOOKOUT_CLUSTER_NODE_ID: 'node-b',
    });
    servers.push(b);
    const both = await status();
    expect(both.nodes.map((n) => [n.id, n.http])).toEqual([
      ['node-a', `http://127.0.0.1:${a.http}`],
      ['node-b', `http://127.0.0.1:${b.http}`],
    ]);
    expect(both.nodes[0]!.mqtt).toMatch(new RegExp(`:${a.mqtt}$`));

    b.child.kill('SIGKILL');
    await waitFor(async () => (await status()).nodes.length === 1, {
      timeoutMs: 30_000,
      what: 'node-b gone',
    });
    expect((await status()).nodes.map((n) => n.id)).toEqual(['node-a']);

    // A clean stop leaves at once.
    await a.stop();
    expect((await status()).nodes).toEqual([]);
  });

  it('says clearly that a single host has no cluster', async () => {
    const result = await runCli(['cluster', 'status']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('CLUSTER_NOT_CONFIGURED');
  });
});
