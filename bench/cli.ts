/**
 * npm run bench:cli — how long short `lookout` commands take from the built dist/ (what users
 * run), beside a bare `node -e 0` start on the same machine in the same run, interleaved. Wall
 * time and CPU time (user + system, from /proc of the finished child) per command, medians over
 * `--tries` runs. Writes the `cli` section of docs/benchmarks.md. Target (issue 9 item 21):
 * `lookout --version` and `lookout device list` under 300 ms.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machine, median, percentile, writeSection } from './report.js';

const { values } = parseArgs({
  options: {
    tries: { type: 'string', default: '15' },
    // Another build's dist/cli/main.js (e.g. an older commit, built in a temp dir) measured in the same run.
    baseline: { type: 'string' },
    'baseline-name': { type: 'string', default: 'baseline' },
  },
});
const tries = Number(values.tries);
const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const TARGET_MS = 300;

interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** Runs `node <args>` to the end; its wall time. */
function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`));
      resolve(wallMs);
    });
  });
}

/** Wall time, and CPU time as the growth of this process's waited-for children's CPU around the run. */
async function measure(args: string[]): Promise<Sample> {
  const before = childrenCpuMs();
  const wallMs = await run(args);
  return { wallMs, cpuMs: childrenCpuMs() - before };
}

/** User + system CPU of this process's waited-for children, in ms (/proc/self/stat cutime, cstime; 100 ticks/s). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

const loadAtStart = loadavg()[0]!;
const dataDir = mkdtempSync(path.join(tmpdir(), 'lookout-bench-cli-'));
try {
  await run([MAIN, 'device', 'add', 'cam1', '--json', '--data-dir', dataDir]);
  const cases: Array<{ name: string; args: string[] }> = [
    { name: '`node -e 0` (Node alone)', args: ['-e', '0'] },
    { name: '`lookout --version`', args: [MAIN, '--version'] },
    { name: '`lookout --help`', args: [MAIN, '--help'] },
    { name: '`lookout device list`', args: [MAIN, 'device', 'list', '--data-dir', dataDir] },
    { name: '`lookout token list`', args: [MAIN, 'token', 'list', '--data-dir', dataDir] },
  ];
  if (values.baseline) {
    const old = values.baseline;
    const label = values['baseline-name'];
    cases.push(
      { name: `${label}: \`lookout --version\``, args: [old, '--version'] },
      { name: `${label}: \`lookout device list\``, args: [old, 'device', 'list', '--data-dir', dataDir] },
    );
  }
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < tries; i++) {
    for (const c of cases) samples.get(c.name)!.push(await measure(c.args));
  }
  const rows = cases.map((c) => {
    const s = samples.get(c.name)!;
    const wall = s.map((x) => x.wallMs);
    const cpu = s.map((x) => x.cpuMs);
    const ours = c.args[0] === MAIN;
    const target =
      ours && (c.name.includes('--version') || c.name.includes('device list')) ? TARGET_MS : undefined;
    const verdict = target === undefined ? '' : median(wall) <= target ? 'met' : 'missed';
    return `| ${c.name} | ${median(wall).toFixed(0)} ms | ${percentile(wall, 90).toFixed(0)} ms | ${median(cpu).toFixed(0)} ms | ${target ? `< ${target} ms` : ''} | ${verdict} |`;
  });
  const body = `## CLI start-up (\`npm run bench:cli\`)

Short commands run from the built \`dist/\`, each a fresh Node process, interleaved with a bare Node start; ${tries}
tries each. Wall: start to exit; CPU: user + system time of the process. Each command loads its modules when it
runs (issue 9 item 21); before that, \`--version\` loaded werift, fastify and aedes.${
    values.baseline
      ? ` Rows named ${values['baseline-name']} run that build's \`dist/\`, interleaved with the others.`
      : ''
  }
${machine()}; load average ${loadAtStart.toFixed(1)} at the start (other work shared the machine: compare with
the bare Node start of the same run).

| Command | Wall median | Wall p90 | CPU median | Target | |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}`;
  console.log(body);
  writeSection('cli', body);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
