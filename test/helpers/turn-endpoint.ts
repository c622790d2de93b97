import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, connect as tcpConnect } from 'node:net';
import path from 'node:path';
import { spawnTied, stopTied } from '../../core/tied-process.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait-for.js';

/** Which TURN server a NAT-traversal test runs against. */
export type TurnKind = 'coturn' | 'embedded';

export interface TurnAddresses {
  /** Where cameras reach the TURN server (UDP and TCP). */
  listenIp: string;
  /** Where its relay sockets bind. */
  relayIp: string;
  /** The one address it may relay to (the media node), though private addresses are denied. */
  allowedPeerIp: string;
}

/** A TURN server for one test file, and how `lookout serve` must be configured to use it. */
export interface TurnEndpoint {
  readonly kind: TurnKind;
  /** UDP and TCP port cameras use. */
  readonly port: number;
  /** LOOKOUT_* variables for `lookout serve`. */
  readonly serveEnv: Record<string, string>;
  /** What the TURN server logged (empty when it logs through lookout serve). */
  logs(): string;
  close(): Promise<void>;
}

/**
 * Starts a TURN server of `kind` on `addrs`. `coturn`: a real coturn (Debian 4.6) with the REST
 * secret scheme, lookout serve in `external` mode. `embedded`: lookout serve's own server.
 */
export async function startTurnForTest(kind: TurnKind, addrs: TurnAddresses): Promise<TurnEndpoint> {
  if (kind === 'coturn') return startCoturn(addrs);
  // lookout serve's own server: no allowed-peer range, it reaches the media node through
  // its allowPeer hook (exactly the media node's ICE sockets), as with the default config.
  const port = await freePort(addrs.listenIp);
  return {
    kind,
    port,
    serveEnv: {
      LOOKOUT_TURN_MODE: 'embedded',
      LOOKOUT_TURN_HOST: addrs.listenIp,
      LOOKOUT_TURN_PORT: String(port),
      LOOKOUT_TURN_RELAY_ADDRESS: addrs.relayIp,
      LOOKOUT_TURN_EXTERNAL_ADDRESS: addrs.listenIp,
    },
    logs: () => '',
    close: async () => {},
  };
}

async function startCoturn(addrs: TurnAddresses): Promise<TurnEndpoint> {
  const tmp = tempDir('lookout-coturn-');
  const port = await freePort(addrs.listenIp);
  const secret = randomBytes(24).toString('base64url');
  const child = spawnTied(
    'turnserver',
    [
      '-n', // no configuration file: everything is on this line
      `--listening-ip=${addrs.listenIp}`,
      `--listening-port=${port}`,
      `--relay-ip=${addrs.relayIp}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=lookout',
      '--fingerprint',
      // Deny every peer but the media node's address: the rule docs/turn.md tells operators to write.
      '--denied-peer-ip=0.0.0.0-255.255.255.255',
      `--allowed-peer-ip=${addrs.allowedPeerIp}`,
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-software-attribute',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${path.join(tmp.dir, 'turnserver.pid')}`,
      `--db=${path.join(tmp.dir, 'turndb')}`,
    ],
    'pipe',
  );
  let logs = '';
  child.stdout!.on('data', (d) => {
    logs += d;
  });
  child.stderr!.on('data', (d) => {
    logs += d;
  });
  const close = async () => {
    await stopTied(child);
    tmp.remove();
  };
  try {
    await waitFor(() => canConnect(addrs.listenIp, port), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'coturn listening',
    });
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}; coturn logged:\n${logs}`);
  }
  const authority = `${addrs.listenIp}:${port}`;
  return {
    kind: 'coturn',
    port,
    serveEnv: {
      LOOKOUT_TURN_MODE: 'external',
      LOOKOUT_TURN_URLS: `turn:${authority}?transport=udp,turn:${authority}?transport=tcp`,
      LOOKOUT_TURN_SECRET: secret,
    },
    logs: () => logs,
    close,
  };
}

/** A port free for both UDP and TCP on `ip` right now. */
async function freePort(ip: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, ip, () => resolve((tcp.address() as { port: number }).port));
    });
    const udp = createSocket('udp4');
    const udpFree = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, ip, () => resolve(true));
    });
    if (udpFree) udp.close();
    await new Promise((resolve) => tcp.close(resolve));
    if (udpFree) return port;
  }
  throw new Error(`no port free for UDP and TCP on ${ip}`);
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
