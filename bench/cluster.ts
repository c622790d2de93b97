/**
 * npm run bench:cluster — a connect storm of N authenticated cameras spread over a cluster of
 * Lookout brokers (issue 11): three nodes on one Redis (mqemitter-redis, aedes-persistence-redis,
 * the cluster's presence) and one PostgreSQL registry, each a process like `lookout serve` runs
 * it; beside it, in the same run, one single-host broker (SQLite, no Redis) under the same load.
 *
 *   storm: every device CONNECTs to its node and SUBSCRIBEs its `down/#`; time from the first
 *          CONNECT to the last SUBACK, and until an echo service on node 1 has seen every device
 *          online (presence crossing nodes); resident memory per connection on each node;
 *   rtt:   signaling round trips at --rtt-rate per second from devices on the other nodes
 *          (device up/signal -> echo service on node 1 -> device down/signal): the camera's MQTT
 *          session and the service's on different nodes, p50/p99.
 * Redis and PostgreSQL are the tests' own (test/helpers), started in temporary directories.
 * Writes the `cluster` section of docs/benchmarks.md.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { openRegistry, type RegistryOptions } from '../devices/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { tempDir } from '../test/helpers/tmp.js';
import { waitFor } from '../test/helpers/wait-for.js';
import type { BenchDevice, GeneratorCommand, GeneratorReport } from './broker-devices.js';
import { machine, median, percentile, writeSection } from './report.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    window: { type: 'string', default: '100' },
    'rtt-rate': { type: 'string', default: '100' },
    'rtt-seconds': { type: 'string', default: '10' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'usage: npm run bench:cluster [-- --devices 10000 --nodes 3 --runs 1 --rtt-rate 100 --no-write]',
  );
  process.exit(0);
}
const N = Number(values.devices);
const NODES = Number(values.nodes);
const RUNS = Number(values.runs);
const WINDOW = Number(values.window);
const RTT_RATE = Number(values['rtt-rate']);
const RTT_SECONDS = Number(values['rtt-seconds']);
const PREFIX = 'lookout';
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const BROKER = fileURLToPath(new URL('./broker-lookout.ts', import.meta.url));
const GENERATOR = fileURLToPath(new URL('./broker-devices.ts', import.meta.url));

interface Node {
  child: ChildProcess;
  port: number;
  service: { username: string; password: string; clientId: string };
}

interface Result {
  stormMs: number;
  presenceMs: number;
  /** Resident memory per connection, per node (KiB). */
  rssPerClientKiB: number[];
  rtt: number[];
  lost: number;
  failed: number;
}

const rssKiB = (pid: number) =>
  Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function startNode(dataDir: string, env: NodeJS.ProcessEnv): Promise<Node> {
  const child = spawn(process.execPath, ['--import', TSX, BROKER, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const ready = await waitFor(() => JSON.parse(out.split('\n')[0] || 'null'), {
    timeoutMs: 120_000,
    what: 'a Lookout broker',
  });
  return { child, port: ready.port, service: ready.service };
}

async function stopNode(node: Node): Promise<void> {
  if (node.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    node.child.once('exit', () => resolve());
    node.child.kill('SIGTERM');
  });
}

async function register(options: RegistryOptions): Promise<BenchDevice[]> {
  const registry = await openRegistry(options);
  try {
    const width = String(N - 1).length;
    const devices: BenchDevice[] = [];
    for (let i = 0; i < N; i += 100) {
      const ids = Array.from(
        { length: Math.min(100, N - i) },
        (_, k) => `cam-${String(i + k).padStart(width, '0')}`,
      );
      const added = await Promise.all(ids.map((id) => registry.devices.add(id)));
      for (const [k, a] of added.entries()) devices.push({ id: ids[k]!, secret: a.secret });
    }
    return devices;
  } finally {
    await registry.close();
  }
}

function command(gen: ChildProcess, cmd: GeneratorCommand): Promise<GeneratorReport> {
  return new Promise((resolve) => {
    gen.once('message', (report: GeneratorReport) => resolve(report));
    gen.send(cmd);
  });
}

/** Storm and round trips against these nodes; node 0 carries the echo service. */
async function measure(nodes: Node[], devices: BenchDevice[], run: number): Promise<Result> {
  const echo = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes[0]!.port}`, {
    ...nodes[0]!.service,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const online = new Set<string>();
  const statuses = new Set<string>();
  echo.on('message', (topic, payload) => {
    const [, id, kind] = topic.split('/');
    if (kind === 'status') {
      statuses.add(id!);
      if (payload.toString().includes('"online":true')) online.add(id!);
      else online.delete(id!);
    } else echo.publish(`${PREFIX}/${id}/down/signal`, payload, { qos: 1 });
  });
  await echo.subscribeAsync({ [`${PREFIX}/+/up/signal`]: { qos: 1 }, [`${PREFIX}/+/status`]: { qos: 1 } });
  await waitFor(() => statuses.size >= devices.length, { timeoutMs: 120_000, what: 'every retained status' });
  // One generator per node (two for a single node, as bench:broker): devices i % nodes go to node i.
  const gens = Math.max(2, nodes.length);
  const generators = Array.from({ length: gens }, () =>
    fork(GENERATOR, [], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    const rssBefore = nodes.map((n) => rssKiB(n.child.pid!));
    const storm = (await Promise.all(
      generators.map((gen, g) =>
        command(gen, {
          cmd: 'storm',
          port: nodes[g % nodes.length]!.port,
          prefix: PREFIX,
          devices: devices.filter((_, i) => i % gens === g),
          window: WINDOW,
          ownPresence: false,
        }),
      ),
    )) as Array<Extract<GeneratorReport, { kind: 'storm' }>>;
    const t0 = Math.min(...storm.map((s) => s.startedAt));
    const stormMs = Math.max(...storm.map((s) => s.endedAt)) - t0;
    await waitFor(() => online.size >= devices.length, {
      timeoutMs: 120_000,
      intervalMs: 5,
      what: 'all online',
    });
    const presenceMs = Date.now() - t0;
    const rssPerClientKiB = nodes.map(
      (n, i) => (rssKiB(n.child.pid!) - rssBefore[i]!) / (devices.length / Math.min(gens, nodes.length)),
    );
    await new Promise((r) => setTimeout(r, 3000)); // settle after the storm
    // Round trips from devices on the other nodes (all of them with a single node).
    const senders = nodes.length > 1 ? generators.filter((_, g) => g % nodes.length !== 0) : generators;
    const rtt = (await Promise.all(
      senders.map((gen, i) =>
        command(gen, {
          cmd: 'rtt',
          rate: RTT_RATE / senders.length,
          seconds: RTT_SECONDS,
          seed: 1000 * run + i,
          payloadBytes: 1000,
        }),
      ),
    )) as Array<Extract<GeneratorReport, { kind: 'rtt' }>>;
    return {
      stormMs,
      presenceMs,
      rssPerClientKiB,
      rtt: rtt.flatMap((r) => r.samples),
      lost: rtt.reduce((n, r) => n + r.lost, 0),
      failed: storm.reduce((n, s) => n + s.failed, 0),
    };
  } finally {
    for (const gen of generators) gen.kill('SIGKILL');
    await echo.endAsync(true);
  }
}

const tmp = tempDir('lookout-bench-cluster-');
const load = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
const results: { single: Result[]; cluster: Result[] } = { single: [], cluster: [] };
try {
  const pgUrl = await postgres.createDatabase();
  const keyFile = path.join(tmp.dir, 'registry.key');
  console.log(`registering ${N} devices in SQLite (single host) and PostgreSQL (cluster)`);
  const single = await register({ dataDir: path.join(tmp.dir, 'single') });
  const clustered = await register({
    dataDir: path.join(tmp.dir, 'pg'),
    keyFile,
    postgres: { url: pgUrl, poolSize: 8, statementTimeoutMs: 30_000 },
  });
  const flush = new Redis(redis.url);
  for (let run = 0; run < RUNS; run++) {
    for (const mode of run % 2 ? (['cluster', 'single'] as const) : (['single', 'cluster'] as const)) {
      await flush.flushall();
      const nodes: Node[] = [];
      try {
        if (mode === 'single') nodes.push(await startNode(path.join(tmp.dir, 'single'), {}));
        else {
          for (let i = 0; i < NODES; i++) {
            nodes.push(
              await startNode(path.join(tmp.dir, `node-${i + 1}`), {
                LOOKOUT_CLUSTER_REDIS_URL: redis.url,
                LOOKOUT_CLUSTER_POSTGRES_URL: pgUrl,
                LOOKOUT_CLUSTER_REGISTRY_KEY_FILE: keyFile,
                LOOKOUT_CLUSTER_NODE_ID: `node-${i + 1}`,
              }),
            );
          }
        }
        const r = await measure(nodes, mode === 'single' ? single : clustered, run);
        results[mode].push(r);
        console.log(
          `run ${run + 1} ${mode}: storm ${(r.stormMs / 1000).toFixed(2)} s, all online ${(r.presenceMs / 1000).toFixed(2)} s, ` +
            `RSS/connection ${r.rssPerClientKiB.map((k) => k.toFixed(1)).join('/')} KiB, RTT p50 ${percentile(r.rtt, 50).toFixed(1)} ms ` +
            `p99 ${percentile(r.rtt, 99).toFixed(1)} ms (${r.rtt.length} samples, ${r.lost} lost), ${r.failed} failed`,
        );
      } finally {
        await Promise.all(nodes.map(stopNode));
      }
    }
  }
  flush.disconnect();
} finally {
  await redis.close();
  await postgres.stop();
  tmp.remove();
}

const row = (name: string, rs: Result[]) => {
  const rtt = rs.flatMap((r) => r.rtt);
  return `| ${name} | ${median(rs.map((r) => r.stormMs / 1000)).toFixed(2)} | ${median(rs.map((r) => r.presenceMs / 1000)).toFixed(2)} | ${rs[0]!.rssPerClientKiB.map((k) => k.toFixed(1)).join(' / ')} | ${percentile(rtt, 50).toFixed(1)} | ${percentile(rtt, 99).toFixed(1)} | ${rs.reduce((n, r) => n + r.lost + r.failed, 0)} |`;
};
const body = [
  `${N} devices; the cluster: ${NODES} nodes (processes) on one Redis and one PostgreSQL, devices spread evenly, an echo`,
  `service on node 1; round trips from devices on the other nodes at ${RTT_RATE}/s for ${RTT_SECONDS} s. The single host:`,
  `one broker on SQLite. Medians of ${RUNS} run(s), alternating. Load average at start: ${load}. ${machine()}`,
  '',
  '| | storm (s) | all online at the service (s) | RSS per connection, per node (KiB) | RTT p50 (ms) | RTT p99 (ms) | lost or failed |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  row('single host', results.single),
  row(`cluster, ${NODES} nodes`, results.cluster),
  '',
  'Targets (issue 11): the storm in under 30 s on this 2-core machine, cross-node round trip p99 under 50 ms.',
].join('\n');
console.log(`\n${body}`);
if (!values['no-write']) writeSection('cluster', body);
