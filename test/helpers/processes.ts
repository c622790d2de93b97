import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { CLI_RUN_MS, spawnCli } from './cli.js';
import { socketInodes, udpSocketRows } from './udp-sockets.js';
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
  options: { cwd?: string; env?: NodeJS.ProcessEnv; netns?: string; nodeArgs?: string[] } = {},
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

/**
 * Starts `lookout serve` on free ports (HTTP on loopback, MQTT on `mqttHost`, loopback by
 * default); resolves with its HTTP and MQTT ports once ready.
 */
export async function startServe(
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  mqttHost = '127.0.0.1',
  /** Extra arguments for node itself (e.g. `--cpu-prof`). */
  nodeArgs: string[] = [],
  /** Inside network namespace `netns`, HTTP on `httpHost` (default loopback): a host of a cluster lab. */
  place: { netns?: string; httpHost?: string } = {},
): Promise<RunningProcess & { http: number; mqtt: number }> {
  const proc = startCli(
    ['serve', '--data-dir', dataDir, '--http-host', place.httpHost ?? '127.0.0.1', '--mqtt-host', mqttHost],
    {
      nodeArgs,
      ...(place.netns ? { netns: place.netns } : {}),
      env: {
        LOOKOUT_HTTP_PORT: '0',
        LOOKOUT_MQTT_PORT: '0',
        LOOKOUT_TURN_PORT: '0',
        LOOKOUT_TURN_HOST: mqttHost,
        ...env,
      },
    },
  );
  const ready = await waitFor(
    () =>
      proc
        .logs()
        .split('\n')
        .find((l) => l.includes('ready: web app')),
    { timeoutMs: 3 * CLI_RUN_MS, what: 'lookout serve ready' },
  ).catch(async (err: Error) => {
    await proc.stop(); // never leave a half-started server behind
    throw new Error(`${err.message}; its log:\n${proc.logs()}`);
  });
  const line = JSON.parse(ready) as { http: string; mqtt: string };
  return { ...proc, http: Number(line.http.split(':').at(-1)), mqtt: Number(line.mqtt.split(':').at(-1)) };
}

/** PIDs of the processes named `name` anywhere below `pid` (e.g. ffmpeg under an agent's wrapper shell). */
export function childProcesses(pid: number, name: string): number[] {
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const line of pgrep(['-P', String(parent), '-l'])) {
      const [child, comm] = line.split(' ');
      if (comm === name) found.push(Number(child));
      walk(Number(child));
    }
  };
  walk(pid);
  return found;
}

function pgrep(args: string[]): string[] {
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Whether a process is still alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Local `ip:port` of every IPv4 UDP socket process `pid` holds (Linux: its fds against /proc/net/udp). */
export function udpBindings(pid: number): string[] {
  const inodes = socketInodes(pid);
  return udpSocketRows()
    .filter((row) => row.family === 4 && inodes.has(row.inode))
    .map((row) => {
      const ip = [3, 2, 1, 0].map((i) => Number.parseInt(row.localHex.slice(i * 2, i * 2 + 2), 16)).join('.');
      return `${ip}:${row.localPort}`;
    });
}
