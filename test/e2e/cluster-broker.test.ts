import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { clusterEnv } from '../helpers/cluster-env.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { type RunningProcess, startServe } from '../helpers/processes.js';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * MQTT on every node (issue 11, item 3): two real `lookout serve` processes on one PostgreSQL
 * registry and one Redis. A device's presence is the cluster's, whichever node it is connected to;
 * a device that moves to another node keeps only its newest session and stays online; a node killed
 * with -9 has its devices set offline by the survivor within 20 s.
 */
const available = hasRedis() && havePostgres();
const tmp = tempDir('lookout-cluster-broker-');
let redis: TestRedis;
let postgres: TestPostgres;
let env: Record<string, string>;
const clients: MqttClient[] = [];
const servers: RunningProcess[] = [];

beforeAll(async () => {
  if (!available) return;
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  env = clusterEnv(redis.url, await postgres.createDatabase(), tmp.dir);
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.close();
  await postgres?.stop();
  tmp.remove();
});

async function node(id: string) {
  const server = await startServe(path.join(tmp.dir, id), { ...env, LOOKOUT_CLUSTER_NODE_ID: id });
  servers.push(server);
  return server;
}

function connect(port: number, secret: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: 'cam1',
      username: 'cam1',
      password: secret,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    clients.push(client);
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

/** Whether cam1 is online as the shared registry says, read through a node's HTTP API. */
async function online(httpPort: number, token: string): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/devices/cam1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`GET /api/devices/cam1: ${res.status}`);
  return ((await res.json()) as { online: boolean }).online;
}

describe.skipIf(!available)('MQTT on every node of a cluster', () => {
  it('shares presence across nodes, keeps a moved device online, and sets a dead node’s devices offline', async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const cli = (args: string[]) =>
      runCli([...args, '--data-dir', path.join(tmp.dir, 'cli')], { env, cwd: tmp.dir });
    const added = await cli(['device', 'add', 'cam1', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const secret = (JSON.parse(added.stdout) as { mqtt: { password: string } }).mqtt.password;
    const token = (await cli(['token', 'create'])).stdout.trim();

    // Connected to A: online as B sees it.
    const onA = await connect(a.mqtt, secret);
    await waitFor(() => online(b.http, token), { timeoutMs: 10_000, what: 'cam1 online through node B' });

    // The same device connects to B: A's older session is closed, and the device stays online.
    const closedOnA = new Promise<void>((resolve) => onA.once('close', () => resolve()));
    await connect(b.mqtt, secret);
    await closedOnA;
    await waitFor(() => a.logs().includes('a newer session holds it'), {
      timeoutMs: 10_000,
      what: 'node A handing cam1 over',
    });
    expect(await online(a.http, token)).toBe(true);

    // B dies with cam1's session: A sets it offline once B has left the cluster.
    const diedAt = Date.now();
    b.child.kill('SIGKILL');
    await waitFor(async () => !(await online(a.http, token)), {
      timeoutMs: 30_000,
      what: 'cam1 offline after its node died',
    });
    expect(Date.now() - diedAt).toBeLessThan(20_000);

    // It comes back through A.
    await connect(a.mqtt, secret);
    await waitFor(() => online(a.http, token), { timeoutMs: 10_000, what: 'cam1 online again through A' });
  });
});
