/**
 * Fan-out: one 2 Mbps camera, N werift viewers in separate processes. Reports, per N, the
 * server's CPU (share of one core) and the video packet loss the viewers saw, then the largest
 * N with < 1% loss and the CPU per viewer. Run: npm run bench:fanout [-- --steps 5,10,20,40]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCameraRig } from '../test/helpers/camera-rig.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { machine, writeSection } from './report.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '5,10,20,40,60' },
    processes: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '8' },
  },
});
const steps = values.steps.split(',').map(Number);
const processes = Number(values.processes);
const seconds = Number(values.seconds);
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const VIEWERS = fileURLToPath(new URL('./fanout-viewers.ts', import.meta.url));

/** CPU seconds (user + system) used so far by a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const rig = await startCameraRig({
  serveEnv: { LOOKOUT_MEDIA_LINGER_MS: '60000' },
  video: { width: 1280, height: 720, fps: 15, bitrateKbps: 2000 },
  audio: { codec: 'none' },
});
const { base, token, serve } = rig;
rig.startAgent();
await rig.waitOnline();

interface Step {
  viewers: number;
  serverCore: number;
  loss: number;
  /** Video bitrate each viewer received. */
  mbps: number;
}

async function runStep(n: number): Promise<Step> {
  const children: Array<{
    child: ChildProcess;
    last: { received: number; expected: number; bytes: number };
  }> = [];
  for (let p = 0; p < processes; p++) {
    const count = Math.floor(n / processes) + (p < n % processes ? 1 : 0);
    if (count === 0) continue;
    const child = spawn(process.execPath, ['--import', TSX, VIEWERS, base, token, 'cam1', String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const entry = { child, last: { received: 0, expected: 0, bytes: 0 } };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      const line = text.trim().split('\n').at(-1);
      if (line) entry.last = JSON.parse(line);
    });
    children.push(entry);
  }
  const total = () =>
    children.reduce(
      (a, c) => ({
        received: a.received + c.last.received,
        expected: a.expected + c.last.expected,
        bytes: a.bytes + c.last.bytes,
      }),
      { received: 0, expected: 0, bytes: 0 },
    );
  await waitFor(() => total().received > 0 && children.every((c) => c.last.received > 0), {
    timeoutMs: 60_000,
    what: `${n} viewers receiving`,
  });
  await new Promise((r) => setTimeout(r, 3000)); // settle
  const start = { cpu: cpuSeconds(serve.child.pid!), at: performance.now(), ...total() };
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const end = { cpu: cpuSeconds(serve.child.pid!), at: performance.now(), ...total() };
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.all(children.map(({ child }) => new Promise((r) => child.once('exit', r))));
  const wall = (end.at - start.at) / 1000;
  const received = end.received - start.received;
  const expected = end.expected - start.expected;
  return {
    viewers: n,
    serverCore: (end.cpu - start.cpu) / wall,
    loss: expected > 0 ? Math.max(0, 1 - received / expected) : 1,
    mbps: ((end.bytes - start.bytes) * 8) / wall / 1e6 / n,
  };
}

const results: Step[] = [];
try {
  for (const n of steps) {
    const step = await runStep(n);
    results.push(step);
    console.log(
      `${n} viewers: server ${(step.serverCore * 100).toFixed(0)}% of a core, loss ${(step.loss * 100).toFixed(2)}%, ${step.mbps.toFixed(2)} Mbps each`,
    );
    await new Promise((r) => setTimeout(r, 2000));
    if (step.loss >= 0.01) break;
  }
  const ok = results.filter((r) => r.loss < 0.01);
  const best = ok.at(-1);
  const perViewer =
    ok.length >= 2
      ? (ok.at(-1)!.serverCore - ok[0]!.serverCore) / (ok.at(-1)!.viewers - ok[0]!.viewers)
      : (best?.serverCore ?? 0) / (best?.viewers ?? 1);
  const perCore = perViewer > 0 ? Math.floor(1 / perViewer) : 0;
  const rows = results
    .map(
      (r) =>
        `| ${r.viewers} | ${(r.serverCore * 100).toFixed(0)}% | ${(r.loss * 100).toFixed(2)}% | ${r.mbps.toFixed(2)} Mbps |`,
    )
    .join('\n');
  const body = `## Fan-out (\`npm run bench:fanout\`)

One camera (\`lookout agent\` test source, 1280x720, 15 fps, H.264 at 2 Mbps) and N werift viewers spread over
${processes} viewer processes on the same machine, measured for ${seconds} s per step after the viewers settle.
Server CPU is \`lookout serve\`'s user+system time as a share of one core; loss is from the viewers' RTP sequence numbers.

| Viewers | Server CPU | Video loss | Video per viewer |
| --- | --- | --- | --- |
${rows}

- Largest N measured with < 1% loss: **${best?.viewers ?? 0}**; server CPU per viewer (slope): **${(perViewer * 100).toFixed(2)}% of a core**,
  i.e. about **${perCore} viewers per server core** by extrapolation.
- The viewers run on the same two cores and decrypt SRTP in JavaScript; they, not the server, bound the largest N
  this machine can show. For scale: LiveKit publishes about 190 viewers of 720p per vCPU, mediasoup about 500
  consumers per worker core (both native media paths; werift is pure JavaScript).

Machine: ${machine()}.`;
  writeSection('fanout', body);
  console.log(body);
} finally {
  await rig.close();
}
