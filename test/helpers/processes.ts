import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { spawnCli } from './cli.js';
import { waitFor } from './wait-for.js';

export interface RunningProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr (logs) so far. */
  logs(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `lookout <args>` with JSON logs captured. */
export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): RunningProcess {
  const child = spawnCli([...args, '--log-format', 'json'], options);
  let logs = '';
  child.stderr!.on('data', (d) => {
    logs += d;
  });
  child.stdout!.on('data', (d) => {
    logs += d;
  });
  return {
    child,
    logs: () => logs,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/** Starts `lookout serve` on free ports; resolves with its HTTP and MQTT ports once ready. */
export async function startServe(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningProcess & { http: number; mqtt: number }> {
  const proc = startCli(
    ['serve', '--data-dir', dataDir, '--http-host', '127.0.0.1', '--mqtt-host', '127.0.0.1'],
    {
      env: { LOOKOUT_HTTP_PORT: '0', LOOKOUT_MQTT_PORT: '0', ...env },
    },
  );
  const ready = await waitFor(
    () =>
      proc
        .logs()
        .split('\n')
        .find((l) => l.includes('ready: web app')),
    { timeoutMs: 20_000, what: 'lookout serve ready' },
  );
  const line = JSON.parse(ready) as { http: string; mqtt: string };
  return { ...proc, http: Number(line.http.split(':').at(-1)), mqtt: Number(line.mqtt.split(':').at(-1)) };
}

/** PIDs of the direct children of `pid` running `name` (e.g. ffmpeg under an agent). */
export function childProcesses(pid: number, name: string): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-x', name], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
