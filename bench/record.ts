/**
 * Recording capacity: N simulated 2 Mbps H.264 cameras recorded at once by in-process Recorders
 * (one ffmpeg `-c copy` segmenter per camera, fed RTP over loopback UDP, as `lookout serve` runs
 * them). Steps up N until a step has a gap; reports the largest N recorded with no gap and the CPU
 * and memory per recorded camera, medians over the runs.
 * Run: npm run bench:record [-- --max 64 --seconds 20 --runs 3]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import pino from 'pino';
import { openRegistry } from '../devices/index.js';
import { ffmpegPath } from '../media/ffmpeg-path.js';
import { ffprobePath } from '../recordings/ffmpeg.js';
import { Recorder } from '../recordings/recorder.js';
import { isAlive } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { type Clip, encodeClip, SimulatedCamera } from './record-clip.js';
import { cpuSeconds, processTree, pssBytes, rssBytes, udpDrops } from './record-proc.js';
import { machine, median, writeSection } from './report.js';

const HELP = `Usage: npm run bench:record [-- options]

Records N simulated 2 Mbps cameras at once (N = 1, 4, 8, 16, 24, 32, 48, 64, ...) and reports
the largest N recorded with no gap, and the CPU and memory per recorded camera. Writes the
bench:record section of docs/benchmarks.md.

Options:
  --max N        largest N to try (default 64)
  --start N      first N run 1 tries (default 1): skips the small steps
  --seconds S    measured seconds per step, after the recorders start and settle (default 20)
  --runs R       searches for the largest N; figures are medians over them (default 3)
  --audio        add 32 kbit/s Opus audio to every camera
  -h, --help     this text
`;

const { values } = parseArgs({
  options: {
    max: { type: 'string', default: '64' },
    start: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    audio: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const max = Number(values.max);
const start = Number(values.start);
const seconds = Number(values.seconds);
const runs = Number(values.runs);
if (![max, start, seconds, runs].every((v) => Number.isInteger(v) && v > 0)) {
  console.error('--max, --start, --seconds and --runs take positive whole numbers\n');
  console.error(HELP);
  process.exit(2);
}

const VIDEO = { width: 1280, height: 720, fps: 25, bitrateKbps: 2000, keyframeSeconds: 2 };
const SEGMENT_SECONDS = 10;
const FRAGMENT_MS = 1000;
const SETTLE_MS = 3000;
/**
 * Least time between two cameras joining. An ffmpeg takes about 0.2 s of CPU to start; dozens at
 * once on two busy cores miss the Recorder's 10 s deadline for opening the RTP port and fault.
 */
const STARTUP_INTERVAL_MS = 250;
const TICK_MS = 5;
/** "No gap": no video timestamp jump above this, recorded time within this share of the wall time. */
const MAX_PTS_JUMP_S = 0.2;
const COVERAGE_TOLERANCE = 0.01;
/** More recorded than streamed is no gap, but a timestamp fault beyond this (a camera's first packets can be a little off). */
const OVER_TOLERANCE = 0.05;
/**
 * Stopping a Recorder loses the media after the last fragment on disk (ffmpeg does not report
 * the last segment; the Recorder recovers it from disk): allowed at the end of the recording.
 */
const STOP_TAIL_S = (2 * FRAGMENT_MS) / 1000;
/** The feeder (the event loop the Recorders also run on) may fall this far behind; beyond, a real server's socket buffers would overflow. */
const MAX_LATE_MS = 500;
const LOSS_LINE = /missed|dropping|max delay/i;

const steps = [1, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256].filter((n) => n > start && n < max);
steps.unshift(Math.min(start, max));
if (start < max) steps.push(max);

const gc = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();
const execFileAsync = promisify(execFile);

interface Step {
  n: number;
  ok: boolean;
  failures: string[];
  /** CPU in the measured window as a share of one core. */
  ffmpegCore: number;
  nodeCore: number;
  /** Memory at the end of the window, bytes. */
  /** ffmpeg's resident memory (VmRSS, counting shared libraries in every process). */
  ffmpegRss: number;
  /** Proportional memory (Pss) of ffmpeg and its wrapper shells: their real share of RAM. */
  ffmpegPss: number;
  nodeRssDelta: number;
  maxLateMs: number;
  /** Seconds streamed but not recorded at the end (lost when the recording stops), median over cameras. */
  stopLossS: number;
  /** Least recorded/streamed ratio over the cameras. */
  coverage: number;
  maxJumpS: number;
  lossLines: number;
  kernelDrops: number;
  startupS: number;
}

interface Probed {
  durationS: number;
  frames: number;
  maxJumpS: number;
}

/** Video packet times of a recorded segment: duration, frame count, largest step between frames. */
async function probeSegment(file: string): Promise<Probed> {
  const { stdout } = await execFileAsync(
    ffprobePath(),
    [
      '-v',
      'error',
      '-select_streams',
      'v',
      '-show_entries',
      'format=duration:packet=pts_time',
      '-of',
      'json',
    ].concat(file),
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const data = JSON.parse(stdout) as {
    format: { duration?: string };
    packets?: Array<{ pts_time?: string }>;
  };
  const pts = (data.packets ?? []).map((p) => Number(p.pts_time)).filter(Number.isFinite);
  let maxJumpS = 0;
  for (let i = 1; i < pts.length; i++) maxJumpS = Math.max(maxJumpS, pts[i]! - pts[i - 1]!);
  return { durationS: Number(data.format.duration ?? 0), frames: pts.length, maxJumpS };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runStep(clip: Clip, dataDir: string, n: number, label: string): Promise<Step> {
  const registry = await openRegistry({ dataDir });
  const store = registry.recordings;
  const dir = path.join(dataDir, 'recordings');
  const failures: string[] = [];
  // Per camera: what its Recorder logged (ffmpeg's stderr comes as 'ffmpeg says').
  const logs = Array.from({ length: n }, () => ({
    loss: [] as string[],
    other: [] as string[],
    errors: [] as string[],
  }));
  let running = 0;
  // What is logged once the recordings are being stopped is about the stop, not a gap while recording.
  let stopping = false;
  const atStop = new Map<string, number>();
  const log = pino(
    { level: 'info', base: null },
    {
      write(line: string) {
        const entry = JSON.parse(line) as {
          cam?: number;
          level: number;
          msg: string;
          ffmpeg?: string;
          reason?: string;
        };
        if (entry.msg === 'recorder running') running++;
        const camLog = entry.cam === undefined ? undefined : logs[entry.cam];
        if (!camLog) return;
        if (stopping) {
          if (entry.level >= 30 && entry.msg !== 'recording stopped') {
            const what = entry.ffmpeg === undefined ? entry.msg : 'ffmpeg says';
            atStop.set(what, (atStop.get(what) ?? 0) + 1);
          }
          return;
        }
        if (entry.ffmpeg !== undefined)
          (LOSS_LINE.test(entry.ffmpeg) ? camLog.loss : camLog.other).push(entry.ffmpeg);
        else if (entry.level >= 40)
          camLog.errors.push(`${entry.msg}${entry.reason ? `: ${entry.reason}` : ''}`);
      },
    },
  );

  gc();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  // Cameras join one by one (spread over a GOP at least, so their keyframes are too): starting
  // many ffmpegs at once is a limit of its own (see STARTUP_INTERVAL_MS).
  const interval = Math.max(STARTUP_INTERVAL_MS, (VIDEO.keyframeSeconds * 1000) / n);
  const cameras = Array.from({ length: n }, (_, k) => new SimulatedCamera(clip, k, t0 + 100 + k * interval));
  const feeder = setInterval(() => {
    const now = performance.now();
    for (const camera of cameras) camera.tick(now);
  }, TICK_MS);
  const deviceId = (k: number) => `${label}-cam${k}`;
  const recorders = cameras.map(
    (camera, k) =>
      new Recorder(camera, {
        deviceId: deviceId(k),
        dir,
        segmentSeconds: SEGMENT_SECONDS,
        fragmentMs: FRAGMENT_MS,
        store,
        node: 'bench',
        log: log.child({ cam: k }),
      }),
  );
  let ffmpegPids: number[] = [];
  let step: Step | undefined;
  try {
    await waitFor(() => running >= n, {
      timeoutMs: 30_000 + n * 1000,
      intervalMs: 100,
      what: `${n} recorders running`,
    });
    const startupS = (performance.now() - t0) / 1000;
    // Per camera: the tied wrapper shell, its watcher and ffmpeg.
    const tree = recorders.flatMap((r) => processTree(r.segmenter?.process?.pid ?? -1));
    const treePids = tree.map((p) => p.pid);
    ffmpegPids = tree.filter((p) => p.name === 'ffmpeg').map((p) => p.pid);
    if (ffmpegPids.length !== n) failures.push(`found ${ffmpegPids.length} ffmpeg for ${n} recorders`);
    await sleep(SETTLE_MS);

    for (const camera of cameras) camera.maxLateMs = 0;
    const cpu0 = treePids.map((pid) => cpuSeconds(pid) ?? 0);
    const node0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(seconds * 1000);
    const cpu1 = treePids.map((pid) => cpuSeconds(pid));
    const node1 = process.cpuUsage(node0);
    const wall = (performance.now() - w0) / 1000;
    const maxLateMs = Math.max(...cameras.map((c) => c.maxLateMs));
    const ffmpegRss = ffmpegPids.reduce((sum, pid) => sum + rssBytes(pid), 0);
    const ffmpegPss = treePids.reduce((sum, pid) => sum + pssBytes(pid), 0);
    const kernelDrops = ffmpegPids.reduce((sum, pid) => sum + udpDrops(pid), 0);
    if (ffmpegPids.some((pid) => cpuSeconds(pid) === undefined))
      failures.push('an ffmpeg ended during the window');
    const ffmpegCore = cpu1.reduce<number>((sum, c, i) => sum + (c ?? cpu0[i]!) - cpu0[i]!, 0) / wall;
    const nodeCore = (node1.user + node1.system) / 1e6 / wall;
    gc();
    const nodeRssDelta = process.memoryUsage().rss - rss0;

    // Stop the cameras, let ffmpeg drain its socket, then stop recording.
    const stoppedAt = performance.now();
    stopping = true;
    await Promise.all(recorders.map((r) => r.close()));
    clearInterval(feeder);

    // No gap: every camera's segments are complete, continuous and cover the time it streamed.
    let coverage = Number.POSITIVE_INFINITY;
    const stopLoss: number[] = [];
    let maxJumpS = 0;
    const short: string[] = [];
    for (const [k, camera] of cameras.entries()) {
      const segments = await store.between(deviceId(k), 0, 9e15);
      const notComplete = segments.filter((s) => s.state !== 'complete');
      if (notComplete.length > 0) failures.push(`cam${k}: ${notComplete.length} segment(s) not complete`);
      const probed = await mapLimit(segments, 2, (s) => probeSegment(path.join(dir, s.path)));
      const recordedS = probed.reduce((sum, p) => sum + p.durationS, 0);
      const wallS = (stoppedAt - camera.firstPacketAt!) / 1000;
      const ratio = recordedS / wallS;
      coverage = Math.min(coverage, ratio);
      stopLoss.push(wallS - recordedS);
      if (
        recordedS < wallS * (1 - COVERAGE_TOLERANCE) - STOP_TAIL_S ||
        recordedS > wallS * (1 + OVER_TOLERANCE)
      )
        short.push(`cam${k} ${recordedS.toFixed(1)} s of ${wallS.toFixed(1)} s`);
      const jump = Math.max(0, ...probed.map((p) => p.maxJumpS));
      maxJumpS = Math.max(maxJumpS, jump);
      if (jump > MAX_PTS_JUMP_S) failures.push(`cam${k}: video jumps ${jump.toFixed(2)} s`);
      for (let i = 1; i < segments.length; i++) {
        if (segments[i]!.startMs !== segments[i - 1]!.endMs)
          failures.push(`cam${k}: segments ${i - 1} and ${i} do not meet`);
      }
      const faults = (await store.gapsBetween(deviceId(k), 0, 9e15)).filter(
        (g) => g.reason === 'recorder-fault',
      );
      if (faults.length > 0) failures.push(`cam${k}: ${faults.length} recorder-fault gap(s)`);
      if (logs[k]!.errors.length > 0) failures.push(`cam${k}: ${logs[k]!.errors[0]}`);
    }
    if (short.length > 0)
      failures.push(
        `recorded time off wall time: ${short.slice(0, 3).join(', ')}${short.length > 3 ? ', ...' : ''}`,
      );
    const lossLines = logs.reduce((sum, l) => sum + l.loss.length, 0);
    if (lossLines > 0)
      failures.push(
        `ffmpeg reported loss ${lossLines} times ("${logs.find((l) => l.loss.length)!.loss[0]}")`,
      );
    if (kernelDrops > 0) failures.push(`kernel dropped ${kernelDrops} datagrams to ffmpeg`);
    if (maxLateMs > MAX_LATE_MS) failures.push(`feeder ${maxLateMs.toFixed(0)} ms behind`);
    const other = logs.flatMap((l) => l.other);
    if (atStop.size > 0)
      console.log(`  at the stop: ${[...atStop].map(([what, count]) => `${count} x ${what}`).join(', ')}`);
    if (other.length > 0) console.log(`  ffmpeg said ${other.length} other line(s), e.g. "${other[0]}"`);
    step = {
      n,
      ok: failures.length === 0,
      failures,
      ffmpegCore,
      nodeCore,
      ffmpegRss,
      ffmpegPss,
      nodeRssDelta,
      maxLateMs,
      coverage,
      stopLossS: median(stopLoss),
      maxJumpS,
      lossLines,
      kernelDrops,
      startupS,
    };
    return step;
  } finally {
    clearInterval(feeder);
    await Promise.all(recorders.map((r) => r.close()));
    await registry.close();
    // Every ffmpeg must be gone (the Recorders stop them through their tied wrappers).
    await waitFor(() => ffmpegPids.every((pid) => !isAlive(pid)), {
      timeoutMs: 15_000,
      what: 'ffmpeg exit',
    }).catch(() => {
      console.error(`  ffmpeg still running after close: ${ffmpegPids.filter(isAlive).join(', ')}`);
      step?.failures.push('ffmpeg left running');
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (core: number) => `${(core * 100).toFixed(1)}%`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function describe(s: Step): string {
  return `${s.n} cameras: ${s.ok ? 'no gap' : `GAP (${s.failures.slice(0, 3).join('; ')})`}; ffmpeg ${pct(s.ffmpegCore)} + node ${pct(s.nodeCore)} of a core, ffmpeg PSS ${mb(s.ffmpegPss)} (RSS ${mb(s.ffmpegRss)}), node RSS +${mb(s.nodeRssDelta)}, feeder late <= ${s.maxLateMs.toFixed(0)} ms, recorded >= ${(s.coverage * 100).toFixed(1)}% of streamed (lost at stop ${s.stopLossS.toFixed(2)} s), started in ${s.startupS.toFixed(1)} s`;
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-record-'));
const loadBefore = os.loadavg();
const results: Step[] = [];
const bests: Array<Step | undefined> = [];
try {
  console.log(
    `encoding the ${VIDEO.width}x${VIDEO.height} ${VIDEO.fps} fps ${VIDEO.bitrateKbps} kbit/s clip...`,
  );
  const clip = await encodeClip({ ...VIDEO, seconds: 20, audio: values.audio }, ffmpegPath());
  console.log(
    `clip: ${clip.videoFrames} frames, ${clip.videoKbps.toFixed(0)} kbit/s video, ${clip.packets.length} packets`,
  );
  let stepNo = 0;
  const tryStep = async (run: number, i: number) => {
    const n = steps[i]!;
    const step = await runStep(clip, dataDir, n, `r${run}s${stepNo++}`).catch(
      (err: Error): Step => ({
        n,
        ok: false,
        failures: [err.message],
        ffmpegCore: 0,
        nodeCore: 0,
        ffmpegRss: 0,
        ffmpegPss: 0,
        nodeRssDelta: 0,
        maxLateMs: 0,
        coverage: 0,
        stopLossS: 0,
        maxJumpS: 0,
        lossLines: 0,
        kernelDrops: 0,
        startupS: 0,
      }),
    );
    results.push(step);
    console.log(`run ${run}: ${describe(step)}`);
    await sleep(2000);
    return step;
  };
  for (let run = 1; run <= runs; run++) {
    // Run 1 steps up from the first N; later runs start from the previous run's largest N and search from there.
    const previous = bests.at(-1);
    let i = run === 1 || !previous ? 0 : steps.indexOf(previous.n);
    let best: Step | undefined;
    let step = await tryStep(run, i);
    if (step.ok) {
      best = step;
      while (step.ok && i + 1 < steps.length) {
        step = await tryStep(run, ++i);
        if (step.ok) best = step;
      }
    } else {
      while (!step.ok && i > 0) {
        step = await tryStep(run, --i);
        if (step.ok) best = step;
      }
    }
    bests.push(best);
    console.log(`run ${run}: largest N with no gap: ${best?.n ?? 0}`);
  }

  const bestNs = bests.map((b) => b?.n ?? 0);
  const sustained = bests.filter((b): b is Step => b !== undefined);
  const perCam = (f: (s: Step) => number) =>
    sustained.length ? median(sustained.map((s) => f(s) / s.n)) : 0;
  const cpuPerCam = perCam((s) => s.ffmpegCore + s.nodeCore);
  const ffmpegCpuPerCam = perCam((s) => s.ffmpegCore);
  const nodeCpuPerCam = perCam((s) => s.nodeCore);
  const ffmpegRssPerCam = perCam((s) => s.ffmpegRss);
  const ffmpegPssPerCam = perCam((s) => s.ffmpegPss);
  const nodeRssPerCam = perCam((s) => s.nodeRssDelta);
  const stopLoss = median(results.filter((r) => r.startupS > 0).map((r) => r.stopLossS));
  const capped = bestNs.filter((n) => n === max).length > runs / 2;

  const byN = [...new Set(results.map((r) => r.n))].sort((a, b) => a - b);
  const rows = byN
    .map((n) => {
      const rs = results.filter((r) => r.n === n);
      const measured = rs.filter((r) => r.startupS > 0);
      const m = (f: (s: Step) => number) => (measured.length ? median(measured.map(f)) : Number.NaN);
      const ok = rs.filter((r) => r.ok).length;
      // One line each, without the camera and the temporary paths, so the table row stays one row.
      const why = [
        ...new Set(
          rs.flatMap((r) =>
            r.failures.map((f) =>
              f
                .split('\n')[0]!
                .replace(/^cam\d+: /, '')
                .replace(/\/\S*\/([^/\s]+)/g, '$1')
                .trim(),
            ),
          ),
        ),
      ];
      return `| ${n} | ${ok}/${rs.length}${why.length ? ` (${why.slice(0, 2).join('; ')})` : ''} | ${pct(m((s) => s.ffmpegCore))} | ${pct(m((s) => s.nodeCore))} | ${pct(m((s) => (s.ffmpegCore + s.nodeCore) / s.n))} | ${mb(m((s) => s.ffmpegPss / s.n))} (${mb(m((s) => s.ffmpegRss / s.n))}) | ${mb(m((s) => s.nodeRssDelta / s.n))} | ${m((s) => s.maxLateMs).toFixed(0)} ms |`;
    })
    .join('\n');
  const loadAfter = os.loadavg();
  const body = `## Recording capacity (\`npm run bench:record\`)

N simulated cameras recorded at once by in-process \`Recorder\`s, each with its own ffmpeg \`-c copy\` segmenter
fed RTP over loopback UDP (as \`lookout serve\` records), ${SEGMENT_SECONDS} s segments with ${FRAGMENT_MS} ms fragments, into a
real registry in a temporary data dir. Camera: one clip encoded once (libx264 ${VIDEO.width}x${VIDEO.height}, ${VIDEO.fps} fps,
${(clip.videoKbps / 1000).toFixed(2)} Mbit/s, keyframe every ${VIDEO.keyframeSeconds} s, packetization mode 1${values.audio ? ', Opus 32 kbit/s' : ', no audio'}), replayed in a loop in real time
with per-camera SSRC, sequence numbers and timestamps. The cameras join ${STARTUP_INTERVAL_MS} ms apart (spread over a GOP at least).
Each step records for its start-up plus ${SETTLE_MS / 1000} s plus a measured window of ${seconds} s. **No gap** means, for every camera: all
segments complete and contiguous, no video timestamp jump above ${MAX_PTS_JUMP_S * 1000} ms (ffprobe), recorded time at least
${100 - COVERAGE_TOLERANCE * 100}% of the time the camera streamed less up to ${STOP_TAIL_S} s lost at the stop (see below), and at most
${OVER_TOLERANCE * 100}% over it, no \`recorder-fault\` gap nor Recorder warning while recording, no ffmpeg line about lost packets
(\`missed\`/\`dropping\`/\`max delay\`), no datagram dropped by the kernel on ffmpeg's sockets, and the packet feeder
(same event loop as the Recorders) never more than ${MAX_LATE_MS} ms behind.
CPU is user+system time in the window as a share of one core: every ffmpeg with its tied wrapper shells
(\`/proc/<pid>/stat\`) plus the Node process (\`process.cpuUsage()\`, which includes the simulated cameras). Memory
at the end of the window: ffmpeg and wrappers as PSS (\`smaps_rollup\`; shared libraries split among the processes), ffmpeg's
VmRSS in brackets (every process counts its shared libraries in full), and Node's RSS growth over the step (after GC). ${runs} runs: run 1 steps N up from ${steps[0]}; later runs search from the previous run's
largest N.

| N | No gap (runs) | ffmpeg CPU | Node CPU | CPU per camera | ffmpeg PSS (RSS) per camera | Node RSS per camera | Feeder late (max) |
| --- | --- | --- | --- | --- | --- | --- | --- |
${rows}

- Largest N recorded with no gap: **${median(bestNs)}${capped ? ` (the --max cap; the limit is higher)` : ''}** (median of runs: ${bestNs.join(', ')}).
- Per recorded camera at that N (medians over runs): **${pct(cpuPerCam)} of a core** (ffmpeg ${pct(ffmpegCpuPerCam)},
  Node ${pct(nodeCpuPerCam)}), **${mb(ffmpegPssPerCam + nodeRssPerCam)}** of memory (ffmpeg ${mb(ffmpegPssPerCam)} PSS,
  ${mb(ffmpegRssPerCam)} RSS; Node ${mb(nodeRssPerCam)}).
- Stopping a recording loses the last ${stopLoss.toFixed(1)} s or so (median over all steps): what had not yet reached ffmpeg
  when it was told to stop; ffmpeg, still fed while it stops, finishes the segment it writes.
- Not included: the live path in front of the recorder (WebRTC/SRTP receive in werift) and the page cache of the
  written files. The disk is the machine's local disk.
- The machine is shared: other jobs ran at the same time (load average ${loadBefore.map((l) => l.toFixed(1)).join(', ')}
  at the start, ${loadAfter.map((l) => l.toFixed(1)).join(', ')} at the end), so the largest N moves from run to run.

Machine: ${machine()}.`;
  writeSection('record', body);
  console.log(body);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
