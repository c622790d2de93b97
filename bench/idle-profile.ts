/**
 * What a streaming camera with no viewer costs, process by process: `lookout serve` with one
 * 2 Mbps 1280x720 camera made live by one viewer that then leaves; CPU of the server and of each
 * media worker over `--seconds`, `--rounds` times. With `--cpu-prof DIR` every process writes a
 * V8 profile and the measured windows are printed as monotonic microseconds, for
 * `npx tsx bench/cpu-profile-top.ts FILE --window FROM,TO`.
 * Run: npx tsx bench/idle-profile.ts [--seconds 10 --rounds 3 --cpu-prof /tmp/prof]
 * (A developer's tool; `npm run bench:fanout` reports the idle figure beside Janus's.)
 */
import { parseArgs } from 'node:util';
import { startCameraRig } from '../test/helpers/camera-rig.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { cpuTimes, processTree } from './record-proc.js';
import { startViewerProcesses } from './viewer-processes.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/idle-profile.ts [--seconds 10] [--rounds 3] [--cpu-prof DIR]');
  process.exit(0);
}
const seconds = Number(values.seconds);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

const rig = await startCameraRig({
  serveEnv: { LOOKOUT_MEDIA_LINGER_MS: String(3_600_000) },
  serveNodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [],
  video: { width: 1280, height: 720, fps: 15, bitrateKbps: 2000 },
  audio: { codec: 'none' },
});
try {
  rig.startAgent();
  await rig.waitOnline();
  const viewer = startViewerProcesses([{ args: ['whep', rig.base, rig.token, 'cam1'], count: 1 }]);
  await waitFor(() => viewer.receiving(), { timeoutMs: 60_000, what: 'the viewer receiving' });
  await viewer.stop();
  await sleep(5000); // the viewer's session winds down
  const server = rig.serve.child.pid!;
  // The server, its media workers; not the agent (a child of the rig, not of the server).
  const pids = processTree(server).filter((p) => p.name === 'node' || p.name.startsWith('lookout'));
  for (let round = 0; round < Number(values.rounds); round++) {
    const from = {
      at: performance.now(),
      us: monotonicUs(),
      cpu: pids.map((p) => cpuTimes(p.pid)?.totalMs ?? 0),
    };
    await sleep(seconds * 1000);
    const wall = performance.now() - from.at;
    const shares = pids.map((p, i) => ((cpuTimes(p.pid)?.totalMs ?? 0) - from.cpu[i]!) / wall);
    const total = shares.reduce((a, b) => a + b, 0);
    console.log(
      `round ${round + 1}: ${(total * 100).toFixed(2)}% of a core (${pids
        .map((p, i) => `${p.pid === server ? 'server' : 'worker'} ${p.pid} ${(shares[i]! * 100).toFixed(2)}%`)
        .join(', ')}); window ${from.us},${monotonicUs()}`,
    );
  }
} finally {
  await rig.close();
}
