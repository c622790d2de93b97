/**
 * Lists the functions of a V8 CPU profile (`node --cpu-prof`) by self time:
 * `npx tsx bench/cpu-profile-top.ts FILE.cpuprofile [count] [--window FROM,TO]`. Used for the profiles that
 * `npm run bench:turn -- --cpu-prof DIR` and `npm run bench:broker -- --cpu-prof DIR` write.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const windowAt = args.indexOf('--window');
// `--window FROM,TO`: only samples between two monotonic microsecond times (bench/idle-profile.ts prints them).
const [from, to] = windowAt >= 0 ? args.splice(windowAt, 2)[1]!.split(',').map(Number) : [0, Infinity];
const [file, count = '25'] = args;
if (!file) throw new Error('usage: cpu-profile-top FILE.cpuprofile [count] [--window FROM,TO]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let total = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at < from! || at > to!) return;
  const frame = nodes.get(id)!.callFrame;
  const where = frame.url
    ? `${frame.url.replace(/^.*\/(node_modules|wt\/[^/]+)\//, '')}:${frame.lineNumber + 1}`
    : '';
  const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
  const dt = profile.timeDeltas[i] ?? 0;
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  total += dt;
});
const idle = selfUs.get('(idle)') ?? 0;
console.log(`total ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s; % of busy time`);
selfUs.delete('(idle)');
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  console.log(
    `${((100 * us) / (total - idle)).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${key}`,
  );
}
