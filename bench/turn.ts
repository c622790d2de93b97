/**
 * npm run bench:turn — the embedded TURN server against coturn (`turnserver`), each pinned to
 * one core, relaying ChannelData flooded by a C load generator (bench/turn-load.c, compiled
 * here with the machine's cc) pinned to the other core. Per run and server, interleaved:
 * start it, make N allocations with one channel each (long-term auth, from Node), hand the
 * client ports over to the generator, then per direction (client -> peer, peer -> client):
 *   paced: a fixed offered rate below both servers' limits: server CPU µs per relayed packet;
 *   flood: an offered rate above them: relayed packets/s (and CPU per packet at saturation).
 * `node-floor` (bench/turn-floor.ts) relays the same flows with bare dgram sockets and no TURN
 * logic: the floor for any relay on Node. `--only a,b` picks servers. Medians over runs; writes
 * the `turn` section of docs/benchmarks.md.
 *
 * --cpu-prof DIR writes a V8 CPU profile of the embedded server process (one per run) into
 * DIR; `npx tsx bench/cpu-profile-top.ts DIR/<file>` lists its functions by self time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePortRange } from '../test/helpers/ports.js';
import { tempDir } from '../test/helpers/tmp.js';
import { TurnTestClient } from '../test/helpers/turn-client.js';
import { issueTurnCredentials } from '../turn/index.js';
import { machine, writeSection } from './report.js';
import { type Direction, type Measure, type Mode, turnReport } from './turn-report.js';
import { type BenchServer, startCoturn, startEmbedded, startFloor, stopServer } from './turn-servers.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    flows: { type: 'string', default: '8' },
    size: { type: 'string', default: '200' },
    'paced-rate': { type: 'string', default: '30000' },
    'flood-rate': { type: 'string', default: '300000' },
    warmup: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    directions: { type: 'string', default: 'to-peer,to-client' },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    /** Another checkout of Lookout whose embedded server runs too, as `baseline` (before/after). */
    baseline: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const FLOWS = Number(values.flows);
const SIZE = Number(values.size);
const PACED = Number(values['paced-rate']);
const FLOOD = Number(values['flood-rate']);
const DIRECTIONS = values.directions.split(',') as Direction[];
const SERVER_CPU = Number(values['server-cpu']);
const LOAD_CPU = Number(values['load-cpu']);
const SECRET = 'bench-turn-secret-0123456789';
const SOURCE = fileURLToPath(new URL('./turn-load.c', import.meta.url));

interface LoadReport {
  sent: number;
  received: number;
  windowSent: number;
  windowReceived: number;
  windowSeconds: number;
  serverCpuSeconds: number;
  skipped: number;
}
interface Flow {
  clientPort: number;
  channel: number;
  peerPort: number;
  relayPort: number;
}

const work = tempDir('lookout-bench-turn-');
const loadBinary = path.join(work.dir, 'turn-load');
execFileSync('cc', ['-O2', '-Wall', '-o', loadBinary, SOURCE], { stdio: 'inherit' });

/** N allocations with one channel each, made from Node; their client sockets are closed for the generator to take over. */
async function makeFlows(server: BenchServer): Promise<Flow[]> {
  const flows: Flow[] = [];
  for (let i = 0; i < FLOWS; i++) {
    const { username, credential } = issueTurnCredentials({
      secret: SECRET,
      deviceId: `bench${i}`,
      ttlSeconds: 3600,
      nowMs: Date.now(),
    });
    const client = await TurnTestClient.open({ ip: '127.0.0.1', port: server.port }, 'udp', {
      username,
      password: credential,
    });
    const peerPort = await freePortRange(1);
    const channel = 0x4000 + i;
    const allocated = await client.allocate();
    const bound = await client.channelBind(channel, { ip: '127.0.0.1', port: peerPort });
    if (allocated.code || bound.code || !allocated.relayed)
      throw new Error(`${server.name}: allocate ${allocated.code}, channel bind ${bound.code}`);
    flows.push({ clientPort: client.localPort, channel, peerPort, relayPort: allocated.relayed.port });
    await client.close();
  }
  return flows;
}

async function load(
  server: BenchServer,
  flows: Flow[],
  direction: Direction,
  rate: number,
): Promise<Measure> {
  // biome-ignore format: one flag per line reads better
  const args = [
    '-c', String(LOAD_CPU), loadBinary,
    '--server', `127.0.0.1:${server.port}`, '--pid', String(server.pid), '--rate', String(rate),
    '--warmup', values.warmup, '--seconds', values.seconds, '--size', String(SIZE), '--direction', direction,
    ...flows.flatMap((f) => ['--flow', `${f.clientPort}:${f.channel}:${f.peerPort}:${f.relayPort}`]),
  ];
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`turn-load exited with ${code}`);
  const r = JSON.parse(out) as LoadReport;
  return {
    rate: r.windowReceived / r.windowSeconds,
    cpuUs: r.windowReceived ? (r.serverCpuSeconds * 1e6) / r.windowReceived : Number.NaN,
    loss: r.sent ? (100 * (r.sent - r.received)) / r.sent : 0,
    skipped: r.skipped,
  };
}

const results = new Map<string, Measure[]>(); // `${server}/${direction}/${mode}`
const keep = (key: string, m: Measure) => results.set(key, [...(results.get(key) ?? []), m]);
const loadAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const starters: Record<string, () => Promise<BenchServer>> = {
  embedded: () => startEmbedded(SECRET, SERVER_CPU, values['cpu-prof']),
  coturn: () => startCoturn(SECRET, SERVER_CPU, work.dir),
  // Node's dgram relaying with no TURN logic (bench/turn-floor.ts): the floor under the embedded server.
  'node-floor': () => startFloor(SERVER_CPU, FLOWS, () => freePortRange(1)),
};
if (values.baseline) {
  const checkout = values.baseline;
  const prof = values['cpu-prof'] && path.join(values['cpu-prof'], 'baseline');
  starters.baseline = () => startEmbedded(SECRET, SERVER_CPU, prof, checkout);
}
const names = Object.keys(starters).filter((n) => !values.only || values.only.split(',').includes(n));
try {
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 ? [...names].reverse() : names; // interleaved, alternating who goes first
    for (const name of order) {
      const server = await starters[name]!();
      console.log(`run ${run + 1} ${name}: pid ${server.pid}, port ${server.port}`);
      try {
        const flows = server.flows ?? (await makeFlows(server));
        for (const direction of DIRECTIONS) {
          for (const [mode, rate] of [
            ['paced', PACED],
            ['flood', FLOOD],
          ] as Array<[Mode, number]>) {
            const m = await load(server, flows, direction, rate);
            keep(`${name}/${direction}/${mode}`, m);
            console.log(
              `run ${run + 1} ${name} ${direction} ${mode} ${rate}: ${Math.round(m.rate)} pkt/s, ` +
                `${m.cpuUs.toFixed(2)} µs CPU/pkt, ${m.loss.toFixed(2)}% loss${m.skipped ? `, generator behind by ${m.skipped} pkts` : ''}`,
            );
          }
        }
      } finally {
        await stopServer(server);
      }
    }
  }
} finally {
  work.remove();
}

const body = turnReport(results, names, {
  machine: machine(),
  loadAtStart,
  coturn: coturnVersion(),
  serverCpu: SERVER_CPU,
  loadCpu: LOAD_CPU,
  flows: FLOWS,
  size: SIZE,
  paced: PACED,
  flood: FLOOD,
  warmup: values.warmup,
  seconds: values.seconds,
  runs: RUNS,
  directions: DIRECTIONS,
});
console.log(`\n${body}`);
if (!values['no-write']) writeSection('turn', body);

function coturnVersion(): string {
  try {
    return execFileSync('turnserver', ['--version'], { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    return '(version unknown)';
  }
}
