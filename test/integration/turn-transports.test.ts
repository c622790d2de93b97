import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { createTurnServer, issueTurnCredentials, type TurnServer } from '../../turn/index.js';
import { type Peer, TurnTestClient } from '../helpers/turn-client.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * What docs/turn.md tells operators and firmware authors about transports and peer filtering,
 * on the real embedded server over real sockets: "UDP and TCP: what a camera gathers" and
 * "Which peers the embedded server relays to (`turn.allowedPeerIps`)".
 */

const SECRET = 'transports-secret-0123456789';
const BASE = {
  host: '127.0.0.1',
  port: 0,
  realm: 'lookout',
  maxAllocations: 20,
  maxAllocationsPerDevice: 10,
};

/** A UDP peer on loopback that remembers what reached it. */
async function udpPeer(): Promise<{ socket: Socket; address: Peer; got: string[] }> {
  const socket = createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (data) => got.push(data.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: { ip: '127.0.0.1', port: socket.address().port }, got };
}

const opened: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

async function start(
  lists: { allowedPeerIps?: string[]; deniedPeerIps?: string[] } = {},
): Promise<TurnServer> {
  const server = await createTurnServer(
    { ...BASE, allowedPeerIps: lists.allowedPeerIps ?? [], deniedPeerIps: lists.deniedPeerIps ?? [] },
    { log: silentLogger(), secret: SECRET, deviceAllowed: () => true },
  );
  opened.push(server);
  return server;
}

async function client(server: TurnServer, transport: 'udp' | 'tcp'): Promise<TurnTestClient> {
  const { username, credential } = issueTurnCredentials({
    secret: SECRET,
    deviceId: 'cam1',
    ttlSeconds: 600,
    nowMs: Date.now(),
  });
  const c = await TurnTestClient.open({ ip: '127.0.0.1', port: server.address().udp.port }, transport, {
    username,
    password: credential,
  });
  opened.push(c);
  return c;
}

describe('embedded TURN: transports and peer lists as docs/turn.md states them', () => {
  it('takes a UDP and a TCP allocation from one camera at once; both relay to the peer over UDP', async () => {
    const peer = await udpPeer();
    opened.push({ close: () => new Promise<void>((resolve) => peer.socket.close(() => resolve())) });
    const server = await start({ allowedPeerIps: ['127.0.0.1'] });
    const overUdp = await client(server, 'udp');
    const overTcp = await client(server, 'tcp');
    const a = await overUdp.allocate();
    const b = await overTcp.allocate();
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(server.stats().allocations).toBe(2);
    expect(a.relayed!.port).not.toBe(b.relayed!.port);
    for (const [c, text] of [
      [overUdp, 'from-udp-client'],
      [overTcp, 'from-tcp-client'],
    ] as const) {
      expect((await c.createPermission(peer.address)).code).toBe(0);
      c.send(peer.address, Buffer.from(text));
    }
    // The peer is a UDP socket: whatever the client's transport, the relayed leg is UDP.
    await waitFor(() => peer.got.includes('from-udp-client') && peer.got.includes('from-tcp-client'), {
      what: 'both messages at the UDP peer',
    });
    expect((await overUdp.refresh(0)).code).toBe(0);
    expect((await overTcp.refresh(0)).code).toBe(0);
    await waitFor(() => server.stats().allocations === 0, { what: 'both allocations released' });
  });

  it('turn.allowedPeerIps opens a denied address (and beats turn.deniedPeerIps); turn.deniedPeerIps closes a public one', async () => {
    const loopback = { ip: '127.0.0.1', port: 9 };
    const publicPeer = { ip: '198.51.100.7', port: 9 };
    const byDefault = await (async () => {
      const c = await client(await start(), 'udp');
      expect((await c.allocate()).code).toBe(0);
      return [(await c.createPermission(loopback)).code, (await c.createPermission(publicPeer)).code];
    })();
    expect(byDefault).toEqual([403, 0]);
    const configured = await client(
      await start({ allowedPeerIps: ['127.0.0.1/32'], deniedPeerIps: ['127.0.0.0/8', '198.51.100.0/24'] }),
      'udp',
    );
    expect((await configured.allocate()).code).toBe(0);
    expect((await configured.createPermission(loopback)).code).toBe(0);
    expect((await configured.createPermission({ ip: '127.0.0.2', port: 9 })).code).toBe(403);
    expect((await configured.createPermission(publicPeer)).code).toBe(403);
  });
});
