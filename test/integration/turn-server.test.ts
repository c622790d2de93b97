import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.js';
import { createTurnServer, issueTurnCredentials, type TurnServer } from '../../turn/index.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { type Peer, TurnTestClient } from '../helpers/turn-client.js';
import { canBindUdp } from '../helpers/udp.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRET = 'integration-secret-0123456789';
const BASE = { host: '127.0.0.1', port: 0, realm: 'lookout', allowedPeerIps: [], deniedPeerIps: [] };

/** A UDP peer on loopback that echoes what it gets, prefixed with `echo:`. */
async function echoPeer(): Promise<{ socket: Socket; address: Peer }> {
  const socket = createSocket('udp4');
  socket.on('message', (data, rinfo) =>
    socket.send(Buffer.concat([Buffer.from('echo:'), data]), rinfo.port, rinfo.address),
  );
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: { ip: '127.0.0.1', port: socket.address().port } };
}

describe('embedded TURN server with default peer filtering', () => {
  let clockOffset = 0;
  const revoked = new Set<string>();
  let server: TurnServer;
  let peer: Awaited<ReturnType<typeof echoPeer>>;
  const clients: TurnTestClient[] = [];

  beforeAll(async () => {
    peer = await echoPeer();
    server = await createTurnServer(
      { ...BASE, maxAllocations: 5, maxAllocationsPerDevice: 2 },
      {
        log: silentLogger(),
        secret: SECRET,
        deviceAllowed: (id) => !revoked.has(id),
        // Like the media node: exactly one loopback socket is allowed, nothing else on the host.
        allowPeer: (ip, port) => ip === '127.0.0.1' && port === peer.address.port,
        now: () => Date.now() + clockOffset,
      },
    );
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    clockOffset = 0;
    revoked.clear();
    for (const id of ['cam1', 'cam2', 'cam3']) server.revokeDevice(id); // whatever a test left
    expect(server.stats().relaySockets).toBe(0);
  });
  afterAll(async () => {
    await server.close();
    peer.socket.close();
  });

  async function client(deviceId = 'cam1', transport: 'udp' | 'tcp' = 'udp', ttlSeconds = 600) {
    const { udp } = server.address();
    const { username, credential } = issueTurnCredentials({
      secret: SECRET,
      deviceId,
      ttlSeconds,
      nowMs: Date.now() + clockOffset,
    });
    const c = await TurnTestClient.open({ ip: '127.0.0.1', port: udp.port }, transport, {
      username,
      password: credential,
    });
    clients.push(c);
    return c;
  }

  it('answers 403 to CreatePermission for loopback, unspecified, metadata and private peers', async () => {
    const c = await client();
    expect((await c.allocate()).code).toBe(0);
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '0.0.0.0', '169.254.169.254', '10.0.0.1']) {
      const reply = await c.createPermission({ ip, port: 9 });
      expect([ip, reply.code, reply.integrityOk]).toEqual([ip, 403, true]);
    }
    // The allowPeer hook allows the echo peer's port, and only that one.
    expect((await c.createPermission(peer.address)).code).toBe(0);
    expect((await c.createPermission({ ip: '127.0.0.1', port: peer.address.port + 1 })).code).toBe(403);
    await c.refresh(0);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`relays Send/Data and ChannelData both ways over ${transport}`, async () => {
      const c = await client('cam2', transport);
      const allocation = await c.allocate();
      expect([allocation.code, allocation.integrityOk, allocation.relayed?.ip]).toEqual([
        0,
        true,
        '127.0.0.1',
      ]);
      expect((await c.createPermission(peer.address)).code).toBe(0);
      c.send(peer.address, Buffer.from('via-send'));
      await waitFor(() => c.received.find((r) => r.data.toString() === 'echo:via-send'));
      const bound = await c.channelBind(0x4001, peer.address);
      expect([bound.code, bound.integrityOk]).toEqual([0, true]);
      c.sendChannelData(0x4001, Buffer.from('via-channel-odd'));
      const echoed = await waitFor(() =>
        c.received.find((r) => r.data.toString() === 'echo:via-channel-odd'),
      );
      expect(echoed.channel).toBe(0x4001);
      expect((await c.refresh(0)).code).toBe(0);
      await waitFor(() => canBindUdp(allocation.relayed!.port), { what: 'relay port released' });
    });
  }

  it('ends a TCP client allocation when its connection closes', async () => {
    const c = await client('cam1', 'tcp');
    const allocation = await c.allocate();
    expect(allocation.code).toBe(0);
    expect(await canBindUdp(allocation.relayed!.port)).toBe(false);
    await c.close();
    clients.splice(clients.indexOf(c), 1);
    await waitFor(() => server.stats().allocations === 0, { what: 'allocation ended' });
    expect(await canBindUdp(allocation.relayed!.port)).toBe(true);
  });

  it('holds the quotas: 486 per device, 508 in total', async () => {
    const results: number[] = [];
    for (const device of ['cam1', 'cam1', 'cam1', 'cam2', 'cam2', 'cam3', 'cam3']) {
      results.push((await (await client(device)).allocate()).code);
    }
    expect(results).toEqual([0, 0, 486, 0, 0, 0, 508]);
    expect(server.stats().allocations).toBe(5);
    for (const c of clients) await c.refresh(0);
  });

  it('revokeDevice ends the allocation now, closes its relay socket and refuses new ones', async () => {
    const c = await client('cam3');
    const allocation = await c.allocate();
    expect(await canBindUdp(allocation.relayed!.port)).toBe(false);
    revoked.add('cam3');
    expect(server.revokeDevice('cam3')).toBe(1);
    expect(await canBindUdp(allocation.relayed!.port)).toBe(true);
    expect((await c.refresh()).code).toBe(437);
    expect((await (await client('cam3')).allocate()).code).toBe(403);
  });

  it('answers 401 to a wrong password and to an expired username', async () => {
    const wrong = await client('cam1');
    wrong.credentials = { username: wrong.credentials!.username, password: 'wrong' };
    expect((await wrong.allocate()).code).toBe(401);
    const expired = await client('cam1', 'udp', 60);
    clockOffset = 61_000;
    expect((await expired.allocate()).code).toBe(401);
  });

  it('answers 438 to a stale nonce, then succeeds with the fresh one', async () => {
    const c = await client('cam1', 'udp', 7200);
    expect((await c.allocate()).code).toBe(0);
    clockOffset = 500_000;
    expect((await c.refresh()).code).toBe(0); // the allocation now lives until 1100 s
    clockOffset = 601_000; // nonces live 600 s
    const stale = await c.requestOnce(4 /* Refresh */);
    expect(stale.code).toBe(438);
    const refreshed = await c.refresh(); // the helper takes the new nonce from the 438 and retries
    expect([refreshed.code, refreshed.integrityOk]).toEqual([0, true]);
  });

  it('keeps an allocation alive past its initial lifetime with Refresh, and expires it without', async () => {
    const c = await client('cam1', 'udp', 7200);
    const allocation = await c.allocate();
    expect(allocation.lifetime).toBe(600);
    // A witness allocated at the same time and never refreshed: the sweep that ends it is the
    // one that judged both, so its end proves a sweep ran (however late a loaded machine runs it).
    const witness = await client('cam2', 'udp', 7200);
    expect((await witness.allocate()).code).toBe(0);
    clockOffset = 500_000;
    expect((await c.refresh()).code).toBe(0); // another 600 s from now
    clockOffset = 1_000_000; // past the initial 600 s
    await waitFor(() => server.stats().allocations === 1, {
      timeoutMs: 15_000,
      what: 'the sweep to end the witness',
    });
    expect((await c.createPermission(peer.address)).code).toBe(0); // cam1's survived it
    clockOffset = 1_200_000; // past the refreshed lifetime
    await waitFor(() => server.stats().allocations === 0, { timeoutMs: 15_000, what: 'allocation expired' });
    expect(await canBindUdp(allocation.relayed!.port)).toBe(true);
  });
});

describe('createTurnServer configuration errors', () => {
  const deps = { log: silentLogger(), secret: SECRET, deviceAllowed: () => true };
  const limits = { maxAllocations: 10, maxAllocationsPerDevice: 2 };

  it('names the key of a bad peer range or a non-IPv4 relay address', async () => {
    await expect(
      createTurnServer({ ...BASE, ...limits, allowedPeerIps: ['10.0.0.0/33'] }, deps),
    ).rejects.toMatchObject({
      code: 'TURN_BAD_CONFIG',
      message: expect.stringContaining('turn.allowedPeerIps'),
    });
    await expect(createTurnServer({ ...BASE, ...limits, relayAddress: '::1' }, deps)).rejects.toMatchObject({
      code: 'TURN_BAD_CONFIG',
      message: expect.stringContaining('turn.relayAddress'),
    });
  });

  it('fails with TURN_BIND_FAILED when the port is taken, holding nothing', async () => {
    const first = await createTurnServer({ ...BASE, ...limits }, deps);
    const { port } = first.address().udp;
    await expect(createTurnServer({ ...BASE, ...limits, port }, deps)).rejects.toMatchObject({
      code: 'TURN_BIND_FAILED',
    });
    await first.close();
    const again = await createTurnServer({ ...BASE, ...limits, port }, deps); // the failed attempt released the port
    expect(again.address().tcp.port).toBe(port);
    await again.close();
  });
});

describe('relay port range', () => {
  it('allocates inside relayPortMin..Max, answers 508 when it is full, and reuses a released port', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const relayPort = probe.address().port; // a port that was free a moment ago
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = await createTurnServer(
      {
        ...BASE,
        maxAllocations: 10,
        maxAllocationsPerDevice: 10,
        relayPortMin: relayPort,
        relayPortMax: relayPort,
      },
      { log: silentLogger(), secret: SECRET, deviceAllowed: () => true },
    );
    const open = async () => {
      const { username, credential } = issueTurnCredentials({
        secret: SECRET,
        deviceId: 'cam1',
        ttlSeconds: 600,
        nowMs: Date.now(),
      });
      return TurnTestClient.open({ ip: '127.0.0.1', port: server.address().udp.port }, 'udp', {
        username,
        password: credential,
      });
    };
    const [a, b, c] = [await open(), await open(), await open()];
    try {
      const first = await a.allocate();
      expect([first.code, first.relayed?.port]).toEqual([0, relayPort]);
      expect((await b.allocate()).code).toBe(508);
      expect((await a.refresh(0)).code).toBe(0);
      const third = await c.allocate();
      expect([third.code, third.relayed?.port]).toEqual([0, relayPort]);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
      await server.close();
    }
  });
});

describe("peers at the server's own addresses", () => {
  it('are refused (403) unless the allowPeer hook allows the port', async () => {
    const server = await createTurnServer(
      { ...BASE, maxAllocations: 10, maxAllocationsPerDevice: 10, externalAddress: '198.51.100.10' },
      {
        log: silentLogger(),
        secret: SECRET,
        deviceAllowed: () => true,
        allowPeer: (ip, port) => ip === '198.51.100.10' && port === 40000,
      },
    );
    const { username, credential } = issueTurnCredentials({
      secret: SECRET,
      deviceId: 'cam1',
      ttlSeconds: 600,
      nowMs: Date.now(),
    });
    const c = await TurnTestClient.open({ ip: '127.0.0.1', port: server.address().udp.port }, 'udp', {
      username,
      password: credential,
    });
    try {
      const allocation = await c.allocate();
      expect([allocation.code, allocation.relayed?.ip]).toEqual([0, '198.51.100.10']);
      expect((await c.createPermission({ ip: '198.51.100.10', port: allocation.relayed!.port })).code).toBe(
        403,
      );
      expect((await c.createPermission({ ip: '198.51.100.10', port: 40000 })).code).toBe(0);
      expect((await c.createPermission({ ip: '198.51.100.11', port: 9 })).code).toBe(0);
    } finally {
      await c.close();
      await server.close();
    }
  });
});

describe('TCP connections without an allocation', () => {
  it('closes those beyond the per-IP bound at once and those that make no allocation in time', async () => {
    const server = await createTurnServer(
      {
        ...BASE,
        maxAllocations: 10,
        maxAllocationsPerDevice: 10,
        limits: { tcpConnectionsPerIp: 2, tcpAllocationDeadlineSeconds: 1 },
      },
      { log: silentLogger(), secret: SECRET, deviceAllowed: () => true },
    );
    const port = server.address().tcp.port;
    const idle = async () => {
      const socket = connect({ host: '127.0.0.1', port });
      const state = { socket, closed: false };
      socket.on('close', () => {
        state.closed = true;
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      return state;
    };
    const { username, credential } = issueTurnCredentials({
      secret: SECRET,
      deviceId: 'cam1',
      ttlSeconds: 600,
      nowMs: Date.now(),
    });
    const allocating = await TurnTestClient.open({ ip: '127.0.0.1', port }, 'tcp', {
      username,
      password: credential,
    });
    const sockets: Array<Awaited<ReturnType<typeof idle>>> = [];
    try {
      expect((await allocating.allocate()).code).toBe(0); // holds an allocation: not counted
      sockets.push(await idle(), await idle(), await idle());
      await waitFor(() => sockets[2]!.closed, { what: 'the third idle connection closed' });
      expect(sockets.map((s) => s.closed)).toEqual([false, false, true]);
      await waitFor(() => sockets[0]!.closed && sockets[1]!.closed, { what: 'the deadline' });
      expect((await allocating.refresh()).code).toBe(0);
      expect(server.stats().tcpConnections).toBe(1);
    } finally {
      for (const s of sockets) s.socket.destroy();
      await allocating.close();
      await server.close();
    }
  });
});

describe.runIf(requireTool('openssl', ['version']))('TLS listener (turns:)', () => {
  it('relays ChannelData both ways over TLS, one message after another and in bursts', async () => {
    const tmp = tempDir();
    const { certFile, keyFile } = selfSignedCert(tmp.dir);
    const tls = { port: 0, cert: readFileSync(certFile), key: readFileSync(keyFile) };
    tmp.remove();
    const peer = await echoPeer();
    const server = await createTurnServer(
      { ...BASE, maxAllocations: 10, maxAllocationsPerDevice: 10, tls },
      {
        log: silentLogger(),
        secret: SECRET,
        deviceAllowed: () => true,
        allowPeer: (_ip, port) => port === peer.address.port,
      },
    );
    const { username, credential } = issueTurnCredentials({
      secret: SECRET,
      deviceId: 'cam1',
      ttlSeconds: 600,
      nowMs: Date.now(),
    });
    const c = await TurnTestClient.open({ ip: '127.0.0.1', port: server.address().tls!.port }, 'tls', {
      username,
      password: credential,
    });
    try {
      expect((await c.allocate()).code).toBe(0);
      expect((await c.channelBind(0x4000, peer.address)).code).toBe(0);
      // A burst: several messages may share one TLS record or segment; the client must frame the stream.
      for (let i = 0; i < 200; i++) c.sendChannelData(0x4000, Buffer.from(`m${i}`));
      await waitFor(() => c.received.length === 200, { what: '200 echoes over TLS' });
      expect(new Set(c.received.map((r) => r.data.toString())).size).toBe(200);
    } finally {
      await c.close();
      await server.close();
      peer.socket.close();
    }
  });
});
