/**
 * npm run bench:broker — a connect storm of N authenticated cameras against Lookout's broker
 * and against Debian's Mosquitto on the same load, in one run, alternating (issue 9, item 19).
 *
 * Per run and broker: start it fresh (Lookout: the broker as `lookout serve` wires it, with a
 * real registry of N devices; Mosquitto: password file and equivalent ACL), connect an echo
 * service (subscribes `<prefix>/+/up/signal` and `<prefix>/+/status` like the media node,
 * answers each up/signal on the device's down/signal), then:
 *   storm: every device CONNECTs with its real id and secret and SUBSCRIBEs its `down/#`
 *          (generator processes over raw TCP, a window of connections in progress each);
 *          time from the first CONNECT to the last SUBACK, broker CPU, RSS per client;
 *   rtt:   signaling round trips (device up/signal -> echo service -> device down/signal)
 *          at --rtt-rate per second among the connected devices, p50/p99.
 * Writes the `broker` section of docs/benchmarks.md.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { openRegistry } from '../devices/index.js';
import { tempDir } from '../test/helpers/tmp.js';
import { waitFor } from '../test/helpers/wait-for.js';
import type { BenchDevice, GeneratorCommand, GeneratorReport } from './broker-devices.js';
import { prepareMosquitto, SERVICE_USER, startMosquitto } from './broker-mosquitto.js';
import { type BrokerName, type RunResult, report } from './broker-report.js';
import { percentile, writeSection } from './report.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    generators: { type: 'string', default: '2' },
    window: { type: 'string', default: '100' },
    'rtt-rate': { type: 'string', default: '100' },
    'rtt-seconds': { type: 'string', default: '10' },
    'payload-bytes': { type: 'string', default: '1000' },
    only: { type: 'string' },
    /** Writes a V8 CPU profile of the Lookout broker process into this directory. */
    'cpu-prof': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const N = Number(values.devices);
const RUNS = Number(values.runs);
const GENERATORS = Number(values.generators);
const WINDOW = Number(values.window);
const RTT_RATE = Number(values['rtt-rate']);
const RTT_SECONDS = Number(values['rtt-seconds']);
const PAYLOAD = Number(values['payload-bytes']);
const PREFIX = 'lookout';
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const LOOKOUT = fileURLToPath(new URL('./broker-lookout.ts', import.meta.url));
const GENERATOR = fileURLToPath(new URL('./broker-devices.ts', import.meta.url));
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

interface Started {
  child: ChildProcess;
  /** The last event-loop delay report (Lookout), once per SIGUSR2. */
  loopDelay?: () => RunResult['loopDelay'];
  port: number;
  service: { username: string; password: string; clientId: string };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function procStat(pid: number): { cpuSeconds: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICK,
    rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
  };
}

/** Round trips are measured in steady state: once the broker uses under 20% of a core (at most 15 s). */
async function settle(pid: number): Promise<void> {
  let last = procStat(pid).cpuSeconds;
  await waitFor(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = procStat(pid).cpuSeconds;
      const busy = (now - last) / 0.5;
      last = now;
      return busy < 0.2;
    },
    { timeoutMs: 15_000, intervalMs: 0, what: 'the broker to settle' },
  ).catch(() => undefined);
}

async function startLookout(dataDir: string): Promise<Started> {
  const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
  const child = spawn(process.execPath, [...prof, '--import', TSX, LOOKOUT, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let report: RunResult['loopDelay'];
  child.stderr!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line.startsWith('{"eventLoopDelayMs"')) report = JSON.parse(line).eventLoopDelayMs;
      else if (line) process.stderr.write(`${line}\n`);
    }
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const ready = await waitFor(() => JSON.parse(out.split('\n')[0] || 'null'), {
    timeoutMs: 60_000,
    what: 'the Lookout broker',
  });
  return {
    child,
    port: ready.port,
    service: ready.service,
    loopDelay: () => {
      const last = report;
      report = undefined;
      return last;
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The media node's stand-in: sees every presence change, echoes every up/signal to down/signal. */
async function echoService(port: number, service: Started['service']) {
  const client: MqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    ...service,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
  });
  const online = new Set<string>();
  const statuses = new Set<string>();
  client.on('message', (topic, payload) => {
    const [, id, kind] = topic.split('/');
    if (kind === 'status') {
      statuses.add(id!);
      if (payload.toString().includes('"online":true')) online.add(id!);
      else online.delete(id!);
    } else client.publish(`${PREFIX}/${id}/down/signal`, payload, { qos: 1 });
  });
  await client.subscribeAsync({
    [`${PREFIX}/+/up/signal`]: { qos: 1 },
    [`${PREFIX}/+/status`]: { qos: 1 },
  });
  return { client, online, statuses };
}

async function runGenerators(command: GeneratorCommand, gens: ChildProcess[], slices?: BenchDevice[][]) {
  return Promise.all(
    gens.map(
      (gen, i) =>
        new Promise<GeneratorReport>((resolve) => {
          gen.once('message', (report: GeneratorReport) => resolve(report));
          gen.send(
            command.cmd === 'storm'
              ? { ...command, devices: slices![i]! }
              : command.cmd === 'rtt'
                ? { ...command, rate: command.rate / gens.length, seed: command.seed + i }
                : command,
          );
        }),
    ),
  );
}

async function runOnce(
  name: BrokerName,
  devices: BenchDevice[],
  dataDir: string,
  mosquitto: ReturnType<typeof prepareMosquitto>,
  run: number,
): Promise<RunResult> {
  let started: Started;
  if (name === 'lookout') started = await startLookout(dataDir);
  else {
    const port = await freePort();
    const { child } = await startMosquitto(mosquitto, port);
    started = {
      child,
      port,
      service: { username: SERVICE_USER, password: mosquitto.servicePassword, clientId: SERVICE_USER },
    };
  }
  const gens: ChildProcess[] = [];
  try {
    return await measure(name, devices, started, gens, run);
  } finally {
    for (const gen of gens) gen.kill('SIGKILL');
    await stop(started.child);
  }
}

async function measure(
  name: BrokerName,
  devices: BenchDevice[],
  started: Started,
  gens: ChildProcess[],
  run: number,
): Promise<RunResult> {
  const pid = started.child.pid!;
  const echo = await echoService(started.port, started.service);
  if (name === 'mosquitto') {
    // Lookout publishes every registered device offline (retained) at start; give Mosquitto the same store.
    const offline = JSON.stringify({ online: false, at: new Date().toISOString() });
    await Promise.all(
      devices.map((d) =>
        echo.client.publishAsync(`${PREFIX}/${d.id}/status`, offline, { qos: 1, retain: true }),
      ),
    );
  }
  await waitFor(() => echo.statuses.size >= devices.length, {
    timeoutMs: 120_000,
    what: `${name}: the retained offline status of every device`,
  });
  for (let g = 0; g < GENERATORS; g++) {
    gens.push(
      fork(GENERATOR, [], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
  }
  const slices = gens.map((_, g) => devices.filter((_, i) => i % GENERATORS === g));
  const before = procStat(pid);
  const storm = (await runGenerators(
    {
      cmd: 'storm',
      port: started.port,
      prefix: PREFIX,
      devices: [],
      window: WINDOW,
      ownPresence: name === 'mosquitto',
    },
    gens,
    slices,
  )) as Array<Extract<GeneratorReport, { kind: 'storm' }>>;
  const t0 = Math.min(...storm.map((s) => s.startedAt));
  const stormMs = Math.max(...storm.map((s) => s.endedAt)) - t0;
  await waitFor(() => echo.online.size >= devices.length, {
    timeoutMs: 120_000,
    intervalMs: 5,
    what: `${name}: every device online at the service`,
  }).catch(() => undefined);
  const presenceMs = Date.now() - t0;
  const after = procStat(pid);
  await settle(pid);
  if (name === 'lookout') {
    started.child.kill('SIGUSR2'); // resets the event-loop delay histogram (its report is the storm's)
    await waitFor(() => started.loopDelay?.(), { what: 'event-loop delay reset' }).catch(() => undefined);
  }
  const rttReports = (await runGenerators(
    { cmd: 'rtt', rate: RTT_RATE, seconds: RTT_SECONDS, seed: 1000 * run, payloadBytes: PAYLOAD },
    gens,
  )) as Array<Extract<GeneratorReport, { kind: 'rtt' }>>;
  let loopDelay: RunResult['loopDelay'];
  if (name === 'lookout') {
    started.child.kill('SIGUSR2');
    loopDelay = await waitFor(() => started.loopDelay?.(), { what: 'event-loop delay' }).catch(
      () => undefined,
    );
  }
  for (const gen of gens) gen.send({ cmd: 'close' } satisfies GeneratorCommand);
  await Promise.all(gens.map((g) => new Promise((resolve) => g.once('exit', resolve))));
  await echo.client.endAsync(true);
  const failed = storm.reduce((n, s) => n + s.failed, 0);
  if (failed)
    console.log(`  ${name}: ${failed} devices failed, e.g. ${storm.flatMap((s) => s.errors).join(', ')}`);
  return {
    stormMs,
    presenceMs,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    rssPerClientKiB: (after.rssKiB - before.rssKiB) / devices.length,
    failed,
    rtt: rttReports.flatMap((r) => r.samples),
    rttLost: rttReports.reduce((n, r) => n + r.lost, 0),
    loopDelay,
  };
}

async function registerDevices(dataDir: string): Promise<BenchDevice[]> {
  const registry = await openRegistry({ dataDir });
  try {
    const width = String(N - 1).length;
    const devices: BenchDevice[] = [];
    for (let i = 0; i < N; i++) {
      const id = `cam-${String(i).padStart(width, '0')}`;
      devices.push({ id, secret: (await registry.devices.add(id)).secret });
    }
    return devices;
  } finally {
    await registry.close();
  }
}

const tmp = tempDir();
const loadAtStart = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`registering ${N} devices in ${tmp.dir}`);
const devices = await registerDevices(tmp.dir);
const mosquitto = prepareMosquitto(tmp.dir, PREFIX, devices);
const brokers: BrokerName[] = values.only ? [values.only as BrokerName] : ['lookout', 'mosquitto'];
const results: Record<BrokerName, RunResult[]> = { lookout: [], mosquitto: [] };
try {
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 ? [...brokers].reverse() : brokers;
    for (const name of order) {
      const r = await runOnce(name, devices, tmp.dir, mosquitto, run);
      results[name].push(r);
      console.log(
        `run ${run + 1} ${name}: storm ${(r.stormMs / 1000).toFixed(2)} s, presence ${(r.presenceMs / 1000).toFixed(2)} s, ` +
          `CPU ${r.cpuSeconds.toFixed(1)} s, RSS/client ${r.rssPerClientKiB.toFixed(1)} KiB, ` +
          `RTT p50 ${percentile(r.rtt, 50).toFixed(1)} ms p99 ${percentile(r.rtt, 99).toFixed(1)} ms (${r.rtt.length} samples, ${r.rttLost} lost)` +
          (r.loopDelay
            ? `, broker event-loop delay p99 ${r.loopDelay.p99} ms max ${r.loopDelay.max} ms`
            : ''),
      );
    }
  }
} finally {
  tmp.remove();
}
const body = report(results, brokers, loadAtStart, {
  devices: N,
  runs: RUNS,
  generators: GENERATORS,
  window: WINDOW,
  rttRate: RTT_RATE,
  rttSeconds: RTT_SECONDS,
  payloadBytes: PAYLOAD,
});
console.log(`\n${body}`);
if (!values['no-write']) writeSection('broker', body);
