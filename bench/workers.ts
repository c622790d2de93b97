/**
 * npm run bench:workers — the numbers behind media workers being child processes (D25), and how
 * fast a killed worker is replaced.
 *
 * 1. Start-up and message round trip of a child process (fork, Node IPC, JSON) against a worker
 *    thread (worker_threads, structured clone), each loading the media engine (werift) before
 *    saying ready; interleaved, medians of `--tries`.
 * 2. `lookout serve` from dist/ with 2 media workers: a worker killed with SIGKILL, time until the
 *    pool logs its replacement ready, `--kills` times.
 * Writes the `workers` section of docs/benchmarks.md.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { workerPids } from './record-proc.js';
import { machine, median, writeSection } from './report.js';

const { values } = parseArgs({
  options: {
    tries: { type: 'string', default: '9' },
    kills: { type: 'string', default: '7' },
    'round-trips': { type: 'string', default: '2000' },
  },
});
const tries = Number(values.tries);
const kills = Number(values.kills);
const roundTrips = Number(values['round-trips']);
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const ENGINE = path.join(DIST, 'media/engine.js');

const dir = mkdtempSync(path.join(tmpdir(), 'lookout-bench-workers-'));
// One script for both kinds: load the engine, say ready, echo every message.
const script = path.join(dir, 'echo.mjs');
writeFileSync(
  script,
  `import { parentPort } from 'node:worker_threads';
await import(${JSON.stringify(ENGINE)});
const port = parentPort ?? { postMessage: (m) => process.send(m), on: (e, f) => process.on(e, f) };
port.on('message', (m) => { if (m === 'exit') process.exit(0); port.postMessage(m); });
port.postMessage('ready');
`,
);

interface Endpoint {
  send(message: unknown): void;
  once(listener: (message: unknown) => void): void;
  end(): Promise<void>;
}

function startProcess(): Endpoint {
  const child: ChildProcess = fork(script, [], { stdio: 'ignore', serialization: 'json' });
  return {
    send: (m) => child.send(m as never),
    once: (f) => child.once('message', f),
    end: () => new Promise((resolve) => child.once('exit', () => resolve()).send('exit')),
  };
}

function startThread(): Endpoint {
  const worker = new Worker(script);
  return {
    send: (m) => worker.postMessage(m),
    once: (f) => worker.once('message', f),
    end: async () => {
      await worker.terminate();
    },
  };
}

/** A message the size of a typical command (an SDP offer). */
const MESSAGE = { type: 'request', id: 1, command: 'addViewer', args: { offerSdp: 'a=x\r\n'.repeat(600) } };

async function measure(start: () => Endpoint): Promise<{ startMs: number; roundTripUs: number }> {
  const t0 = performance.now();
  const endpoint = start();
  await new Promise((resolve) => endpoint.once(resolve));
  const startMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < roundTrips; i++) {
    const reply = new Promise((resolve) => endpoint.once(resolve));
    endpoint.send(MESSAGE);
    await reply;
  }
  const roundTripUs = ((performance.now() - t1) * 1000) / roundTrips;
  await endpoint.end();
  return { startMs, roundTripUs };
}

const kinds = { process: startProcess, thread: startThread };
const samples: Record<keyof typeof kinds, Array<{ startMs: number; roundTripUs: number }>> = {
  process: [],
  thread: [],
};
for (let i = 0; i < tries; i++) {
  for (const kind of i % 2 ? (['thread', 'process'] as const) : (['process', 'thread'] as const)) {
    samples[kind].push(await measure(kinds[kind]));
  }
  process.stderr.write(`start-up/round trip: ${i + 1}/${tries}\r`);
}
process.stderr.write('\n');

// --- a killed worker of a real server --------------------------------------------------
const dataDir = path.join(dir, 'data');
const serve = spawn(process.execPath, [path.join(DIST, 'cli/main.js'), 'serve', '--data-dir', dataDir], {
  env: {
    ...process.env,
    LOOKOUT_HTTP_HOST: '127.0.0.1',
    LOOKOUT_HTTP_PORT: '0',
    LOOKOUT_MQTT_HOST: '127.0.0.1',
    LOOKOUT_MQTT_PORT: '0',
    LOOKOUT_TURN_HOST: '127.0.0.1',
    LOOKOUT_TURN_PORT: '0',
    LOOKOUT_MEDIA_WORKERS: '2',
    LOOKOUT_LOG_LEVEL: 'debug',
    LOOKOUT_LOG_FORMAT: 'json',
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const lines: Array<{ at: number; line: Record<string, unknown> }> = [];
let buffered = '';
serve.stderr!.on('data', (chunk: Buffer) => {
  buffered += chunk.toString();
  let newline = buffered.indexOf('\n');
  while (newline >= 0) {
    const text = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    newline = buffered.indexOf('\n');
    try {
      lines.push({ at: performance.now(), line: JSON.parse(text) as Record<string, unknown> });
    } catch {
      // not a log line
    }
  }
});
const until = async (test: () => boolean, what: string, ms = 30_000) => {
  const deadline = performance.now() + ms;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
await until(
  () => lines.some((l) => String(l.line.msg).includes('ready: web app')),
  'lookout serve ready',
  60_000,
);
const replaceMs: number[] = [];
for (let i = 0; i < kills; i++) {
  const [victim] = workerPids(serve.pid!).values();
  const seen = lines.length;
  const killedAt = performance.now();
  process.kill(victim!, 'SIGKILL');
  await until(
    () => lines.slice(seen).some((l) => l.line.msg === 'media worker ready'),
    'the replacement worker ready',
  );
  const ready = lines.slice(seen).find((l) => l.line.msg === 'media worker ready')!;
  replaceMs.push(ready.at - killedAt);
  process.stderr.write(`kill ${i + 1}/${kills}: replaced in ${Math.round(ready.at - killedAt)} ms\n`);
  // The pool backs off a worker that keeps dying right after start; these die ready, so wait a little.
  await new Promise((resolve) => setTimeout(resolve, 1500));
}
serve.kill('SIGTERM');
await new Promise((resolve) => serve.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });

const row = (kind: keyof typeof kinds) => {
  const s = samples[kind];
  return `| ${kind === 'process' ? 'child process (fork, IPC)' : 'worker thread'} | ${median(s.map((x) => x.startMs)).toFixed(0)} | ${median(
    s.map((x) => x.roundTripUs),
  ).toFixed(0)} |`;
};
const body = `## Media workers (\`npm run bench:workers\`)

${machine()}. Medians of ${tries} interleaved starts of each kind, each loading the media engine (werift) before
saying ready, then ${roundTrips} round trips of a 3 KB command (the size of an SDP offer).

| kind | start-up to ready (ms) | round trip (µs) |
| --- | --- | --- |
${row('process')}
${row('thread')}

A media worker killed with SIGKILL under \`lookout serve\` (built, 2 workers), ${kills} times: replaced and ready in
**${median(replaceMs).toFixed(0)} ms** median, ${Math.max(...replaceMs).toFixed(0)} ms at most (target: 2 s).
`;
writeSection('workers', body);
console.log(body);
