import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePortRange } from './ports.js';
import { tempDir } from './tmp.js';
import { requireTool } from './tools.js';
import { waitFor } from './wait-for.js';

/** A real redis-server of its own (Debian's), in a temporary directory on a free port. */
export interface TestRedis {
  port: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  /** Stops the server (SIGTERM), keeping its port for `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port (an outage that ends). */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

/** Whether redis-server is installed (in CI a missing one fails the test run, see requireTool). */
export const hasRedis = (): boolean => requireTool('redis-server', ['--version']);

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Starts redis-server with no persistence to disk, bound to loopback; not the system service. */
export async function startRedis(
  /** `alsoBind`: an address besides 127.0.0.1 to listen on (a cluster lab's bridge). */
  options: { alsoBind?: string } = {},
): Promise<TestRedis> {
  const tmp = tempDir('lookout-redis-');
  const port = await freePortRange(1, { tcp: true });
  let child: ChildProcess | undefined;
  const start = async () => {
    const bind = ['127.0.0.1', ...(options.alsoBind ? [options.alsoBind] : [])];
    const args = ['--port', String(port), '--bind', ...bind, '--dir', tmp.dir];
    // Protected mode refuses every non-loopback client of a server without a password: a lab's
    // bridge is private to this test, so there it is off.
    const protectedMode = options.alsoBind ? 'no' : 'yes';
    args.push('--save', '', '--appendonly', 'no', '--protected-mode', protectedMode, '--loglevel', 'warning');
    const started = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child = started;
    await waitFor(
      async () => {
        if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}`);
        return ping(port);
      },
      { timeoutMs: 20_000, what: `redis-server on port ${port}` },
    );
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async close() {
      await stop();
      tmp.remove();
    },
  };
}
