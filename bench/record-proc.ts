/** What the benches read from /proc (Linux): process trees, CPU time, memory, UDP drops. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { socketInodes, udpSocketRows } from '../test/helpers/udp-sockets.js';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A process and everything below it, with their names. */
export function processTree(pid: number): Array<{ pid: number; name: string }> {
  const found: Array<{ pid: number; name: string }> = [];
  const walk = (parent: number) => {
    const name = read(`/proc/${parent}/comm`)?.trim();
    if (name === undefined) return;
    found.push({ pid: parent, name });
    const children = (read(`/proc/${parent}/task/${parent}/children`) ?? '').trim().split(/\s+/);
    for (const child of children.filter(Boolean).map(Number)) walk(child);
  };
  walk(pid);
  return found;
}

/**
 * CPU milliseconds a process has used so far (all threads), in all and in the kernel; undefined once it is gone.
 * The total is the scheduler's nanosecond count summed over the live threads (`/proc/PID/task/TID/schedstat`):
 * `utime`/`stime` are sampled in 10 ms ticks, too coarse for a process that uses 1% of a core. The kernel part
 * comes from those ticks.
 */
export function cpuTimes(pid: number): { totalMs: number; systemMs: number } | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  // utime, stime in clock ticks (USER_HZ = 100)
  const user = Number(fields[11]) * 10;
  const system = Number(fields[12]) * 10;
  let runNs = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      runNs += Number(read(`/proc/${pid}/task/${tid}/schedstat`)?.split(' ')[0] ?? 0);
    }
  } catch {
    return undefined;
  }
  return { totalMs: runNs > 0 ? runNs / 1e6 : user + system, systemMs: system };
}

/** CPU seconds (user + system) a process has used so far, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const times = cpuTimes(pid);
  return times && times.totalMs / 1000;
}

/** Resident memory of a process in bytes (VmRSS), 0 once it is gone. */
export function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(read(`/proc/${pid}/status`) ?? '')?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Proportional resident memory of a process in bytes (Pss: shared pages split among their users), 0 once it is gone. */
export function pssBytes(pid: number): number {
  const kb = /^Pss:\s+(\d+) kB/m.exec(read(`/proc/${pid}/smaps_rollup`) ?? '')?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Datagrams the kernel dropped on the UDP sockets a process holds (full receive buffer). */
export function udpDrops(pid: number): number {
  const inodes = socketInodes(pid);
  return udpSocketRows()
    .filter((row) => inodes.has(row.inode))
    .reduce((sum, row) => sum + row.drops, 0);
}

/** The media worker processes of `lookout serve` (children started with --media-worker=N), by slot. */
export function workerPids(serve: number): Map<number, number> {
  const out = new Map<number, number>();
  const lines = execFileSync('pgrep', ['-a', '-P', String(serve)], { encoding: 'utf8' }).split('\n');
  for (const line of lines) {
    const slot = /--media-worker=(\d+)/.exec(line)?.[1];
    if (slot !== undefined) out.set(Number(slot), Number(line.split(' ')[0]));
  }
  return out;
}
