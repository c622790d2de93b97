import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { TurnTestClient } from '../helpers/turn-client.js';
import { waitFor } from '../helpers/wait-for.js';

const hasCoturn = requireTool('turnutils_uclient') && requireTool('turnutils_peer');

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 20_000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
}

function summary(output: string): { sent: number; received: number; lost: number } {
  const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m.exec(output);
  const lost = /Total lost packets (\d+)/.exec(output);
  if (!totals || !lost) throw new Error(`no uclient summary in:\n${output}`);
  return { sent: Number(totals[1]), received: Number(totals[2]), lost: Number(lost[1]) };
}

/**
 * The embedded TURN server as `lookout serve` runs it: REST credentials under the server's
 * own secret (issued in offers), devices from the registry, revocation through the registry.
 */
describe.runIf(hasCoturn)('TURN in lookout serve', () => {
  let t: TestServer;
  let peer: ReturnType<typeof spawn>;
  let peerPort: number;

  beforeAll(async () => {
    // turnutils_peer runs on loopback, which the default filter denies: allow it for this test.
    t = await startTestServer({ 'turn.allowedPeerIps': ['127.0.0.0/8'] });
    await t.addDevice('cam1');
    await t.addDevice('cam2');
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    peerPort = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    peer = spawn('turnutils_peer', ['-p', String(peerPort), '-L', '127.0.0.1'], { stdio: 'ignore' });
  });
  afterAll(async () => {
    peer?.kill();
    await t?.close();
  });

  /** The device's current secret generation: part of every TURN username the server accepts for it. */
  const generation = async (device: string) =>
    (await t.server.registry.devices.get(device))!.secretGeneration;
  const uclient = async (device: string, extra: string[] = []) =>
    run('turnutils_uclient', [
      ...extra,
      ...['-p', String(t.server.relay!.address().udp.port), '-e', '127.0.0.1', '-r', String(peerPort)],
      // uclient makes the username `<expiry>:<-u value>`.
      ...['-W', t.server.turn.secret!, '-u', `${device}:${await generation(device)}`, '-c', '-z', '5'],
      ...['-n', '30', '-m', '2', '-l', '200'],
      '127.0.0.1',
    ]);

  it('offers carry TURN URLs for the bound port and credentials scoped to the device', async () => {
    const [server] = t.server.turn.deviceIceServers('cam1', await generation('cam1'));
    const port = t.server.relay!.address().udp.port;
    expect(server!.urls).toEqual([
      `turn:127.0.0.1:${port}?transport=udp`,
      `turn:127.0.0.1:${port}?transport=tcp`,
    ]);
    expect(server!.username).toMatch(/^\d+:cam1:1$/);
  });

  it('turnutils_uclient relays every message over UDP and TCP with the server secret', async () => {
    expect(summary(await uclient('cam1'))).toEqual({ sent: 60, received: 60, lost: 0 });
    expect(summary(await uclient('cam1', ['-t']))).toEqual({ sent: 60, received: 60, lost: 0 });
  });

  it('revoking a device in the registry ends its allocations and refuses new ones', async () => {
    const [ice] = t.server.turn.deviceIceServers('cam2', await generation('cam2'));
    const port = t.server.relay!.address().udp.port;
    const client = await TurnTestClient.open({ ip: '127.0.0.1', port }, 'udp', {
      username: ice!.username!,
      password: ice!.credential!,
    });
    try {
      expect((await client.allocate()).code).toBe(0);
      const before = t.server.relay!.stats().allocations;
      await t.server.registry.devices.revoke('cam2');
      await waitFor(() => t.server.relay!.stats().allocations === before - 1, {
        what: 'the allocation to end',
      });
      expect((await client.refresh()).code).toBe(437);
      expect(await uclient('cam2')).toMatch(/error 403|Forbidden/i);
    } finally {
      await client.close();
    }
  });
});
