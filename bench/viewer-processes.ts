import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const VIEWERS = fileURLToPath(new URL('./fanout-viewers.ts', import.meta.url));

/** Video packets the viewers received and expected (from sequence numbers), and bytes, so far. */
export interface Totals {
  received: number;
  expected: number;
  bytes: number;
}

/**
 * Viewer processes of bench:fanout (bench/fanout-viewers.ts), one per argument list (its
 * arguments before the count, then the count); each reports its cumulative totals once a second.
 */
export function startViewerProcesses(processes: Array<{ args: string[]; count: number }>): {
  /** Every process's viewers have received video. */
  receiving(): boolean;
  total(): Totals;
  /** Ends every viewer (each process hangs up its sessions first) and waits for the processes. */
  stop(): Promise<void>;
} {
  const children: Array<{ child: ChildProcess; last: Totals }> = [];
  for (const { args, count } of processes) {
    const child = spawn(process.execPath, ['--import', TSX, VIEWERS, ...args, String(count)], {
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
  return {
    receiving: () => children.every((c) => c.last.received > 0),
    total: () =>
      children.reduce(
        (a, c) => ({
          received: a.received + c.last.received,
          expected: a.expected + c.last.expected,
          bytes: a.bytes + c.last.bytes,
        }),
        { received: 0, expected: 0, bytes: 0 },
      ),
    async stop() {
      for (const { child } of children) child.kill('SIGTERM');
      await Promise.all(children.map(({ child }) => new Promise((r) => child.once('exit', r))));
    },
  };
}
