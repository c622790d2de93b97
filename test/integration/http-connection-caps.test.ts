import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 9 item 3: idle sockets on the HTTP port are bounded per address and in all, so a
// stranger cannot use up the file descriptors every listener needs.
const PER_ADDRESS = 5;

let t: TestServer;
const sockets: net.Socket[] = [];
beforeAll(async () => {
  t = await startTestServer({ 'http.maxConnectionsPerAddress': PER_ADDRESS, 'http.maxConnections': 100 });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await t?.close();
});

function idleSocket(localAddress: string): Promise<net.Socket> {
  const port = Number(new URL(t.httpUrl).port);
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.on('error', reject);
    sockets.push(s);
  });
}

function healthz(localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${t.httpUrl}/healthz`, { localAddress, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('HTTP connection caps', () => {
  it('closes connections over the per-address cap at once; other addresses and, later, the same one are served', async () => {
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => idleSocket('127.0.0.1')));
    const extra = await idleSocket('127.0.0.1');
    let closed = false;
    extra.on('close', () => {
      closed = true;
    });
    await waitFor(() => closed, { what: 'the connection over the cap to be closed', timeoutMs: 10_000 });
    expect(held.every((s) => !s.destroyed)).toBe(true);
    expect(await healthz('127.0.0.2')).toBe(200);

    for (const s of held) s.destroy();
    await waitFor(async () => (await healthz('127.0.0.1').catch(() => 0)) === 200, {
      what: '127.0.0.1 served again once its sockets closed',
      timeoutMs: 10_000,
    });
  });
});
