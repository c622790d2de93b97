/**
 * Fan-out, side by side with Janus: one 2 Mbps camera, N werift viewers in separate
 * processes, against `lookout serve` and against Janus's streaming plugin (bench/fanout-janus.ts)
 * fed the same encoder's stream. Reports per N the server's CPU per viewer-second, the video
 * loss the viewers saw and the memory per viewer, plus each server's CPU with the camera
 * streaming and no viewer; Lookout and Janus runs interleave, figures are medians.
 * Each run begins with an unmeasured warm-up, for both servers alike (--warmup seconds of the first step's
 * viewers): the first viewers a media worker serves cost it about 1.7 times as much for some 15 s (V8 compiling
 * the send path, the heap growing), and later viewers do not (docs/benchmarks.md), so without it the first step
 * measured the worker's warm-up rather than its viewers.
 * Run: npm run bench:fanout [-- --viewers 10,25,50 --runs 3 --seconds 10 --warmup 20 --cpu-prof /tmp/prof]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ffmpegArgs, parseSource } from '../agent/ffmpeg-args.js';
import type { EdgeConfig } from '../edge-config/index.js';
import { ffmpegPath } from '../media/ffmpeg-path.js';
import { startCameraRig } from '../test/helpers/camera-rig.js';
import { freePortRange } from '../test/helpers/ports.js';
import type { RunningProcess } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { startJanus } from './fanout-janus.js';
import { fanoutReport, type Measured, type Sample } from './fanout-report.js';
import { cpuTimes as cpuTimesOf, processTree, rssBytes } from './record-proc.js';
import { machine, writeSection } from './report.js';
import { startViewerProcesses } from './viewer-processes.js';

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '10,25,50' },
    runs: { type: 'string', default: '3' },
    processes: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '20' },
    'cpu-prof': { type: 'string' },
    // Several cameras over media workers (bench/fanout-workers.ts): --workers 2 --cameras 8 --viewers 6
    workers: { type: 'string' },
    cameras: { type: 'string', default: '8' },
  },
});
if (values.workers !== undefined) {
  const { runWorkersBench } = await import('./fanout-workers.js');
  await runWorkersBench({
    workers: Number(values.workers),
    cameras: Number(values.cameras),
    viewersPerCamera: Number(values.viewers.split(',')[0]),
    seconds: Number(values.seconds),
    runs: Number(values.runs),
  });
  process.exit(0);
}
const steps = values.viewers.split(',').map(Number);
const runs = Number(values.runs);
const processes = Number(values.processes);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);

/**
 * CPU milliseconds (user + system, all threads) used so far by a server and every process below it
 * (Lookout's media workers; Janus has none), and the kernel's part.
 */
function cpuTimes(pid: number): { total: number; system: number } {
  let total = 0;
  let system = 0;
  for (const p of processTree(pid)) {
    const times = cpuTimesOf(p.pid);
    total += times?.totalMs ?? 0;
    system += times?.systemMs ?? 0;
  }
  return { total, system };
}
const cpuMs = (pid: number) => cpuTimes(pid).total;

/** Resident memory of a server and every process below it, MB. */
const rssMb = (pid: number) => processTree(pid).reduce((sum, p) => sum + rssBytes(p.pid), 0) / 1_048_576;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server under test: its process and how viewers reach it. */
interface Target {
  name: 'lookout' | 'janus';
  pid(): number;
  /** Arguments of fanout-viewers.ts before the count. */
  viewerArgs: string[];
  /** Starts the camera feeding this server; resolves once it streams. */
  startCamera(): Promise<void>;
  stopCamera(): Promise<void>;
}

/** The first step's viewers for `warmupSeconds`, not measured (see the top of this file). */
async function warmUp(target: Target, n: number): Promise<void> {
  if (warmupSeconds <= 0) return;
  const viewers = startViewers(target, n);
  try {
    await waitFor(() => viewers.receiving(), {
      timeoutMs: 120_000,
      what: `${n} ${target.name} warm-up viewers`,
    });
    await sleep(warmupSeconds * 1000);
  } finally {
    await viewers.stop();
  }
}

/** `n` viewers of the target, spread over `processes` viewer processes. */
function startViewers(target: Target, n: number) {
  return startViewerProcesses(
    Array.from({ length: processes }, (_, p) => ({
      args: target.viewerArgs,
      count: Math.floor(n / processes) + (p < n % processes ? 1 : 0),
    })).filter((v) => v.count > 0),
  );
}

async function runStep(target: Target, n: number): Promise<Sample> {
  const rssBefore = rssMb(target.pid());
  const viewers = startViewers(target, n);
  try {
    await waitFor(() => viewers.receiving(), {
      timeoutMs: 120_000,
      what: `${n} ${target.name} viewers receiving`,
    });
    await sleep(3000); // settle: every viewer past its first keyframe
    const start = { cpu: cpuTimes(target.pid()), at: performance.now(), ...viewers.total() };
    await sleep(seconds * 1000);
    const end = { cpu: cpuTimes(target.pid()), at: performance.now(), ...viewers.total() };
    const wall = (end.at - start.at) / 1000;
    const received = end.received - start.received;
    const expected = end.expected - start.expected;
    return {
      cpuMsPerViewerSecond: (end.cpu.total - start.cpu.total) / wall / n,
      kernelShare: (end.cpu.system - start.cpu.system) / Math.max(1, end.cpu.total - start.cpu.total),
      loss: expected > 0 ? Math.max(0, 1 - received / expected) : 1,
      rssMbPerViewer: (rssMb(target.pid()) - rssBefore) / n,
      mbps: ((end.bytes - start.bytes) * 8) / wall / 1e6 / n,
    };
  } finally {
    await viewers.stop();
  }
}

/**
 * After the last viewers leave, how long before the idle camera is measured. For some tens of seconds after a
 * busy spell Node's memory reducer collects garbage and returns memory (\`bench/idle-profile.ts\`: the first 30 s
 * cost twice the steady figure), and a held camera's sockets start reading in batches after a few seconds (D42):
 * the figure is what a camera with no viewer costs once that is over, Janus measured the same way.
 */
const IDLE_SETTLE_MS = 40_000;

/** Share of one core the server uses with the camera streaming to it and no viewer, once settled. */
async function idleCore(target: Target): Promise<number> {
  await sleep(IDLE_SETTLE_MS);
  const start = { cpu: cpuMs(target.pid()), at: performance.now() };
  await sleep(seconds * 1000);
  return (cpuMs(target.pid()) - start.cpu) / (performance.now() - start.at);
}

const rig = await startCameraRig({
  // The camera keeps streaming after the viewers leave for the idle measurement.
  serveEnv: { LOOKOUT_MEDIA_LINGER_MS: String(IDLE_SETTLE_MS + (seconds + 20) * 1000) },
  // One argument (`--cpu-prof-dir=DIR`): the server passes it on to its media workers as it is.
  serveNodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [],
  video: { width: 1280, height: 720, fps: 15, bitrateKbps: 2000 },
  audio: { codec: 'none' },
});
const rtpFrom = await freePortRange(200);
const janus = await startJanus({
  httpPort: await freePortRange(1, { tcp: true }),
  rtpPorts: [rtpFrom, rtpFrom + 199],
});
const stream = (JSON.parse(readFileSync(rig.edgeFile, 'utf8')) as EdgeConfig).stream;

let agent: RunningProcess | undefined;
const lookout: Target = {
  name: 'lookout',
  pid: () => rig.serve.child.pid!,
  viewerArgs: ['whep', rig.base, rig.token, 'cam1'],
  async startCamera() {
    agent = rig.startAgent();
    await rig.waitOnline();
  },
  async stopCamera() {
    await agent?.stop();
  },
};
let feed: ChildProcess | undefined;
const janusTarget: Target = {
  name: 'janus',
  pid: () => janus.child.pid!,
  viewerArgs: ['janus', janus.api, String(janus.mountpoint)],
  async startCamera() {
    // The agent's ffmpeg with its settings (agent/ffmpeg-args.ts), RTP straight to the mountpoint.
    const args = ffmpegArgs(parseSource('test'), stream, {
      video: janus.videoPort,
      audio: janus.videoPort + 2,
    });
    feed = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  },
  async stopCamera() {
    if (!feed || feed.exitCode !== null) return;
    const exited = new Promise((r) => feed!.once('exit', r));
    feed.kill('SIGTERM');
    await exited;
  },
};

const measured: Measured = { lookout: { steps: {}, idle: [] }, janus: { steps: {}, idle: [] } };
try {
  for (let run = 0; run < runs; run++) {
    for (const target of run % 2 === 0 ? [lookout, janusTarget] : [janusTarget, lookout]) {
      await target.startCamera();
      try {
        await warmUp(target, steps[0]!);
        for (const n of steps) {
          const sample = await runStep(target, n);
          const samples = measured[target.name].steps[n] ?? [];
          samples.push(sample);
          measured[target.name].steps[n] = samples;
          console.log(
            `run ${run + 1} ${target.name} ${n} viewers: ${sample.cpuMsPerViewerSecond.toFixed(2)} CPU-ms/viewer-s (${(sample.kernelShare * 100).toFixed(0)}% in the kernel), loss ${(sample.loss * 100).toFixed(2)}%, ${sample.rssMbPerViewer.toFixed(2)} MB/viewer, ${sample.mbps.toFixed(2)} Mbps each`,
          );
        }
        const idle = await idleCore(target);
        measured[target.name].idle.push(idle);
        console.log(`run ${run + 1} ${target.name} idle camera: ${(idle * 100).toFixed(2)}% of a core`);
      } finally {
        await target.stopCamera();
      }
      await sleep(2000);
    }
  }
  const body = fanoutReport(measured, {
    steps,
    runs,
    seconds,
    warmupSeconds,
    processes,
    janusVersion: janus.version,
    machine: machine(),
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  });
  writeSection('fanout', body);
  console.log(body);
} finally {
  await janusTarget.stopCamera();
  await janus.stop();
  await rig.close();
}
