/**
 * The two TURN servers of `npm run bench:turn`, each in its own process pinned to one core
 * with `taskset`: the embedded Lookout server (bench/turn-embedded.ts, under Node) and coturn
 * (`turnserver` from Debian) with equivalent settings: REST API secret, realm `lookout`,
 * loopback peers allowed, no TLS/DTLS, UDP on a free port of 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePortRange } from '../test/helpers/ports.js';
import { TurnTestClient } from '../test/helpers/turn-client.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { StunMethod } from '../turn/stun-message.js';

export interface BenchServer {
  name: string;
  /** Flows set up at start (the floor forwarder); TURN servers get theirs through allocations. */
  flows?: Array<{ clientPort: number; channel: number; peerPort: number; relayPort: number }>;
  port: number;
  pid: number;
  child: ChildProcess;
}

const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const EMBEDDED = fileURLToPath(new URL('./turn-embedded.ts', import.meta.url));
const FLOOR = fileURLToPath(new URL('./turn-floor.ts', import.meta.url));

/**
 * The embedded server under `node` on `cpu`; with `cpuProfDir`, V8 writes a CPU profile there
 * at exit. `checkout` runs another checkout's server instead (its bench/turn-embedded.ts, for a
 * before/after comparison in one run).
 */
export async function startEmbedded(
  secret: string,
  cpu: number,
  cpuProfDir: string | undefined,
  checkout?: string,
): Promise<BenchServer> {
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const script = checkout ? path.join(checkout, 'bench', 'turn-embedded.ts') : EMBEDDED;
  const child = spawn(
    'taskset',
    ['-c', String(cpu), process.execPath, ...prof, '--import', TSX, script, secret],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const port = await readyOrKilled(
    child,
    waitFor(() => JSON.parse(out.split('\n')[0] || 'null')?.port as number | undefined, {
      timeoutMs: 30_000,
      what: 'embedded TURN server to listen',
    }),
  );
  return { name: checkout ? 'baseline' : 'embedded', port, pid: child.pid!, child };
}

/**
 * The dgram floor (bench/turn-floor.ts) on `cpu`, with `count` flows on free ports: the
 * cost of relaying on Node's dgram with no TURN logic.
 */
export async function startFloor(
  cpu: number,
  count: number,
  freeUdpPort: () => Promise<number>,
): Promise<BenchServer> {
  const ports: Array<{ clientPort: number; channel: number; peerPort: number }> = [];
  for (let i = 0; i < count; i++)
    ports.push({ clientPort: await freeUdpPort(), channel: 0x4000 + i, peerPort: await freeUdpPort() });
  const args = ports.map((p) => `${p.clientPort}:${p.channel}:${p.peerPort}`);
  const child = spawn('taskset', ['-c', String(cpu), process.execPath, '--import', TSX, FLOOR, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const bound = await readyOrKilled(
    child,
    waitFor(() => JSON.parse(out.split('\n')[0] || 'null') as { port: number; relays: number[] } | null, {
      timeoutMs: 30_000,
      what: 'dgram floor forwarder to bind',
    }),
  );
  const flows = ports.map((p, i) => ({ ...p, relayPort: bound.relays[i]! }));
  return { name: 'node-floor', port: bound.port, pid: child.pid!, child, flows };
}

/** coturn on `cpu`, its pid file and log in `dir`; resolves once its UDP listener is open. */
export async function startCoturn(secret: string, cpu: number, dir: string): Promise<BenchServer> {
  const port = await freePortRange(1, { tcp: true });
  const relayMin = await freePortRange(200);
  // biome-ignore format: one flag per line reads better
  const args = [
    '-c', String(cpu), 'turnserver',
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log',
    '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--relay-ip', '127.0.0.1',
    '--use-auth-secret', '--static-auth-secret', secret, '--realm', 'lookout',
    '--allow-loopback-peers', '--allowed-peer-ip=127.0.0.1',
    '--min-port', String(relayMin), '--max-port', String(relayMin + 199),
    '--pidfile', path.join(dir, `turnserver-${port}.pid`),
  ];
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (d: Buffer) => {
    log = (log + d).slice(-20_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  // Its stdout is block-buffered into a pipe: ask it a STUN Binding instead of reading its log.
  await readyOrKilled(
    child,
    waitFor(() => answersBinding(port), {
      timeoutMs: 15_000,
      what: `turnserver to answer on ${port}; its log:\n${log}`,
    }),
  );
  return { name: 'coturn', port, pid: child.pid!, child };
}

/** Waits for a started server; kills it when it does not come up, so none outlives a failed bench. */
async function readyOrKilled<T>(child: ChildProcess, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

async function answersBinding(port: number): Promise<boolean> {
  const client = await TurnTestClient.open({ ip: '127.0.0.1', port }, 'udp');
  try {
    return (await client.requestOnce(StunMethod.binding)).code === 0;
  } catch {
    return false; // no answer in its retries
  } finally {
    await client.close();
  }
}

export async function stopServer(server: BenchServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}
