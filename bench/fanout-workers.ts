/**
 * bench:fanout --workers N: several cameras over N media workers. C cameras (the agent's test
 * source, 640x360, 15 fps, 600 kbit/s each), V werift viewers of each, against `lookout serve`
 * with `media.workers` N. Reports each worker's share of a core (both busy, the load shared?),
 * the server process's own, and the viewers' video loss; medians over `runs`. Writes the
 * `fanout-workers` section of docs/benchmarks.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EdgeConfig } from '../edge-config/index.js';
import { startCameraRig } from '../test/helpers/camera-rig.js';
import type { RunningProcess } from '../test/helpers/processes.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { cpuTimes, workerPids } from './record-proc.js';
import { machine, median, writeSection } from './report.js';
import { startViewerProcesses } from './viewer-processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cpuMs = (pid: number) => cpuTimes(pid)?.totalMs ?? 0;

interface Run {
  workerCore: number[];
  serverCore: number;
  loss: number;
  mbps: number;
}

export async function runWorkersBench(options: {
  workers: number;
  cameras: number;
  viewersPerCamera: number;
  seconds: number;
  runs: number;
}): Promise<void> {
  const { workers, cameras, viewersPerCamera, seconds, runs } = options;
  const rig = await startCameraRig({
    serveEnv: { LOOKOUT_MEDIA_WORKERS: String(workers), LOOKOUT_MEDIA_LINGER_MS: '5000' },
    video: { width: 640, height: 360, fps: 15, bitrateKbps: 600 },
    audio: { codec: 'none' },
  });
  const agents: RunningProcess[] = [];
  const ids = Array.from({ length: cameras }, (_, i) => `cam${i + 1}`);
  const results: Run[] = [];
  try {
    const video = (JSON.parse(readFileSync(rig.edgeFile, 'utf8')) as EdgeConfig).stream;
    for (const id of ids) {
      let edgeFile = rig.edgeFile;
      if (id !== 'cam1') {
        const added = await rig.cli(['device', 'add', id]);
        if (added.code !== 0) throw new Error(`device add ${id}: ${added.stderr}`);
        edgeFile = path.join(rig.dir, `${id}.json`);
        const edge = JSON.parse(readFileSync(edgeFile, 'utf8')) as EdgeConfig;
        edge.stream = video;
        writeFileSync(edgeFile, JSON.stringify(edge));
      }
      agents.push(rig.startAgent({ edgeFile }));
    }
    await waitFor(
      async () =>
        (await rig.cli(['device', 'list'])).stdout.split('\n').filter((l) => /\sonline/.test(l)).length >=
        cameras,
      { timeoutMs: 120_000, what: `${cameras} cameras online` },
    );
    for (let run = 0; run < runs; run++)
      results.push(await measure(rig, ids, viewersPerCamera, seconds, workers));
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await rig.close();
  }
  const perWorker = Array.from({ length: workers }, (_, w) => median(results.map((r) => r.workerCore[w]!)));
  const body = `## Fan-out over media workers (\`npm run bench:fanout -- --workers ${workers} --cameras ${cameras} --viewers ${viewersPerCamera}\`)

${machine()}; load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.
${cameras} cameras (agent test source, 640x360, 15 fps, 600 kbit/s, no audio), ${viewersPerCamera} werift viewers each (${
    cameras * viewersPerCamera
  } in all, one viewer process per camera), \`lookout serve\` with \`media.workers\` ${workers}; ${seconds} s measured after the
viewers settle, medians of ${runs} runs. Share of one core:

| Process | CPU (share of a core) |
| --- | --- |
${perWorker.map((c, w) => `| media worker ${w} | ${(c * 100).toFixed(1)}% |`).join('\n')}
| server process (broker, HTTP, routing) | ${(median(results.map((r) => r.serverCore)) * 100).toFixed(1)}% |

Video loss seen by the viewers: **${(median(results.map((r) => r.loss)) * 100).toFixed(2)}%** (runs: ${results
    .map((r) => `${(r.loss * 100).toFixed(2)}%`)
    .join(', ')}); video per viewer ${median(results.map((r) => r.mbps)).toFixed(2)} Mbit/s.
`;
  writeSection('fanout-workers', body);
  console.log(body);
}

async function measure(
  rig: Awaited<ReturnType<typeof startCameraRig>>,
  ids: string[],
  viewers: number,
  seconds: number,
  workers: number,
): Promise<Run> {
  const serve = rig.serve.child.pid!;
  const viewerProcs = startViewerProcesses(
    ids.map((id) => ({ args: ['whep', rig.base, rig.token, id], count: viewers })),
  );
  try {
    await waitFor(() => viewerProcs.receiving(), {
      timeoutMs: 180_000,
      what: 'every viewer receiving',
    });
    await sleep(3000);
    const pids = workerPids(serve);
    if (pids.size !== workers) throw new Error(`expected ${workers} media workers, found ${pids.size}`);
    const slots = [...pids.keys()].sort();
    const start = {
      at: performance.now(),
      server: cpuMs(serve),
      workers: slots.map((s) => cpuMs(pids.get(s)!)),
      ...viewerProcs.total(),
    };
    await sleep(seconds * 1000);
    const end = {
      at: performance.now(),
      server: cpuMs(serve),
      workers: slots.map((s) => cpuMs(pids.get(s)!)),
      ...viewerProcs.total(),
    };
    const wallMs = end.at - start.at;
    const received = end.received - start.received;
    const expected = end.expected - start.expected;
    const run: Run = {
      workerCore: slots.map((_, i) => (end.workers[i]! - start.workers[i]!) / wallMs),
      serverCore: (end.server - start.server) / wallMs,
      loss: expected > 0 ? Math.max(0, 1 - received / expected) : 1,
      mbps: ((end.bytes - start.bytes) * 8) / (wallMs / 1000) / 1e6 / (ids.length * viewers),
    };
    console.log(
      `workers ${run.workerCore.map((c) => `${(c * 100).toFixed(1)}%`).join(' / ')}, server ${(run.serverCore * 100).toFixed(1)}%, loss ${(run.loss * 100).toFixed(2)}%`,
    );
    return run;
  } finally {
    await viewerProcs.stop();
    await sleep(3000);
  }
}
