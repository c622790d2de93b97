import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { createTurnServer, type TurnServer } from '../../turn/index.js';
import { freePortRange } from '../helpers/ports.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { canBindUdp } from '../helpers/udp.js';
import { waitFor } from '../helpers/wait-for.js';

const hasCoturn =
  requireTool('turnutils_uclient') &&
  requireTool('turnutils_peer') &&
  requireTool('turnutils_stunclient') &&
  requireTool('openssl', ['version']);
const SECRET = 'coturn-clients-secret-0123456789';

function run(command: string, args: string[], timeout = 40_000): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
}

/** A throwaway self-signed certificate for the TLS listener. */
function selfSignedCertificate(): { cert: Buffer; key: Buffer } {
  const tmp = tempDir();
  try {
    const { certFile: cert, keyFile: key } = selfSignedCert(tmp.dir);
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } finally {
    tmp.remove();
  }
}

/** Totals from turnutils_uclient's summary lines. */
function summary(output: string): { sent: number; received: number; lost: number } {
  const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(output);
  const lost = /Total lost packets (\d+)/.exec(output);
  if (!totals || !lost) throw new Error(`no uclient summary in:\n${output}`);
  return { sent: Number(totals[1]), received: Number(totals[2]), lost: Number(lost[1]) };
}

describe.runIf(hasCoturn)("coturn's turnutils clients against the embedded TURN server", () => {
  let server: TurnServer;
  let peer: ChildProcess;
  let peerPort: number;
  let port: string;
  // A relay port range of our own, free now, so the test can prove every port is released afterwards.
  let relayMin: number;
  let relayMax: number;

  beforeAll(async () => {
    relayMin = await freePortRange(100);
    relayMax = relayMin + 99;
    server = await createTurnServer(
      {
        host: '127.0.0.1',
        port: 0,
        realm: 'lookout',
        relayPortMin: relayMin,
        relayPortMax: relayMax,
        allowedPeerIps: ['127.0.0.0/8'], // turnutils_peer runs on loopback
        deniedPeerIps: [],
        maxAllocations: 100,
        maxAllocationsPerDevice: 20,
        tls: { port: 0, ...selfSignedCertificate() },
      },
      { log: silentLogger(), secret: SECRET, deviceAllowed: () => true },
    );
    port = String(server.address().udp.port);
    peerPort = await freePortRange(1);
    peer = spawn('turnutils_peer', ['-p', String(peerPort), '-L', '127.0.0.1'], { stdio: 'ignore' });
    // Relayed messages sent before the peer binds its port would be lost: wait until it holds it.
    await waitFor(async () => !(await canBindUdp(peerPort)), {
      timeoutMs: 15_000,
      what: 'turnutils_peer bound',
    });
  });
  afterAll(async () => {
    peer?.kill();
    await server?.close();
  });

  // -W: TURN REST secret (uclient makes `<timestamp>:<-u>` and the HMAC password); -c: no RTCP allocation.
  const uclient = (extra: string[]) =>
    run('turnutils_uclient', [
      ...extra,
      ...['-p', port, '-e', '127.0.0.1', '-r', String(peerPort), '-W', SECRET, '-u', 'cam1', '-c', '-z', '5'],
      '127.0.0.1',
    ]);

  it('turnutils_stunclient gets its reflexive address (STUN Binding)', async () => {
    const output = await run('turnutils_stunclient', ['-p', port, '127.0.0.1']);
    expect(output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });

  it('relays every message over UDP with channels (3 clients x 40 messages)', async () => {
    const result = summary(await uclient(['-n', '40', '-m', '3', '-l', '200']));
    expect(result).toEqual({ sent: 120, received: 120, lost: 0 });
  });

  it('relays every message over TCP, with ChannelData padding (odd length)', async () => {
    const result = summary(await uclient(['-t', '-n', '40', '-m', '3', '-l', '171']));
    expect(result).toEqual({ sent: 120, received: 120, lost: 0 });
  });

  it('relays every message with Send and Data indications (-s)', async () => {
    const result = summary(await uclient(['-s', '-n', '30', '-m', '2', '-l', '101']));
    expect(result).toEqual({ sent: 60, received: 60, lost: 0 });
  });

  it('relays RTP and RTCP allocations (EVEN-PORT with R, RESERVATION-TOKEN) without -c', async () => {
    const output = await run('turnutils_uclient', [
      ...['-p', port, '-e', '127.0.0.1', '-r', String(peerPort), '-W', SECRET, '-u', 'cam2', '-z', '5'],
      ...['-n', '30', '-m', '2', '-l', '120', '127.0.0.1'],
    ]);
    expect(summary(output)).toEqual({ sent: 60, received: 60, lost: 0 });
  });

  it('relays every message over TLS (turns:, -t -S)', async () => {
    const tlsPort = String(server.address().tls!.port);
    const output = await run('turnutils_uclient', [
      ...[
        '-t',
        '-S',
        '-p',
        tlsPort,
        '-e',
        '127.0.0.1',
        '-r',
        String(peerPort),
        '-W',
        SECRET,
        '-u',
        'cam3',
        '-c',
      ],
      ...['-z', '5', '-n', '30', '-m', '2', '-l', '99', '127.0.0.1'],
    ]);
    expect(summary(output)).toEqual({ sent: 60, received: 60, lost: 0 });
  });

  it('refuses a client with the wrong secret', async () => {
    const output = await run('turnutils_uclient', [
      ...['-p', port, '-e', '127.0.0.1', '-r', String(peerPort), '-W', 'not-the-secret', '-u', 'cam1', '-c'],
      ...['-n', '2', '127.0.0.1'],
    ]);
    expect(output).toMatch(/Cannot complete Allocation/);
  });

  it('leaves no relay port bound after close()', async () => {
    expect(server.stats().relaySockets).toBeGreaterThan(0); // uclient leaves its allocations to expire
    await server.close();
    await server.close(); // idempotent
    for (let p = relayMin; p <= relayMax; p++) expect([p, await canBindUdp(p)]).toEqual([p, true]);
    await waitFor(async () => canBindUdp(Number(port)));
    expect(server.stats().tcpConnections).toBe(0);
  });
});
