import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 9 item 3: sockets that never log in are capped per address and in all, across the
// TCP and WebSocket listeners (TLS: broker-tls.test.ts), and hitting a cap leaves logged-in
// sessions and /healthz alone. Small caps: the test must not use up the machine's fds.
// Loopback addresses other than 127.0.0.1 play other hosts (Linux routes 127/8 to lo).
const PER_ADDRESS = 3;
const TOTAL = 5;

let t: TestServer;
let mqttPort: number;
const opened: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  t = await startTestServer({
    'mqtt.connections.maxPendingPerAddress': PER_ADDRESS,
    'mqtt.connections.maxPending': TOTAL,
    // Long enough that a close within the test is a refusal, not the login deadline.
    'mqtt.connectTimeoutMs': 60_000,
  });
  mqttPort = Number(new URL(t.mqttUrl).port);
});
afterAll(async () => {
  for (const s of opened) s.destroy();
  await t.close();
});

/** A TCP connection from `localAddress` that never sends CONNECT; resolves once connected. */
function silentSocket(localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: mqttPort, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.on('error', reject);
    opened.push(socket);
  });
}

/** Resolves when the server closes `socket`; rejects if it is still open after 10 s (not refused). */
function closed(socket: { once(event: 'close', fn: () => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection over the cap was not refused')), 10_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** An MQTT.js client whose TCP connection comes from `localAddress`. */
function deviceFrom(localAddress: string, id: string, secret: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = new mqtt.MqttClient(
      () => net.createConnection({ port: mqttPort, host: '127.0.0.1', localAddress }),
      { username: id, password: secret, clientId: id, reconnectPeriod: 0, protocolVersion: 4 },
    );
    opened.push({ destroy: () => client.end(true) });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

async function healthy(): Promise<boolean> {
  const res = await fetch(`${t.httpUrl}/healthz`);
  return res.ok;
}

describe('caps on connections that have not logged in', () => {
  it('refuses the connection over the per-address cap; sessions, /healthz and other addresses are unaffected', async () => {
    const camSecret = await t.addDevice('cam1');
    const cam = await deviceFrom('127.0.0.1', 'cam1', camSecret);
    const service = await t.serviceClient();
    const got: string[] = [];
    service.on('message', (_topic, payload) => got.push(payload.toString()));
    await service.subscribeAsync('lookout/cam1/up/#', { qos: 1 });

    for (let i = 0; i < PER_ADDRESS; i++) await silentSocket('127.0.0.1');
    await waitFor(() => t.server.broker.pendingConnections === PER_ADDRESS, {
      what: 'pending sockets counted',
    });
    const extra = await silentSocket('127.0.0.1').catch(() => undefined);
    if (extra) await closed(extra); // closed at once by the server, long before the 60 s deadline
    expect(t.server.broker.pendingConnections).toBe(PER_ADDRESS);

    await cam.publishAsync('lookout/cam1/up/ping', 'still here', { qos: 1 });
    await waitFor(() => got.includes('still here'), { what: 'publish of the logged-in device' });
    expect(await healthy()).toBe(true);
    const other = await deviceFrom('127.0.0.2', 'cam2', await t.addDevice('cam2'));
    expect(other.connected).toBe(true);
    await other.endAsync();
    await service.endAsync();
    await cam.endAsync();
  });

  it('refuses any connection over the global cap, WebSocket included, and admits again once slots free up', async () => {
    await waitFor(() => t.server.broker.pendingConnections === PER_ADDRESS, {
      what: 'earlier pending sockets',
    });
    const more: net.Socket[] = [];
    for (let i = PER_ADDRESS; i < TOTAL; i++) more.push(await silentSocket('127.0.0.3'));
    await waitFor(() => t.server.broker.pendingConnections === TOTAL, { what: 'global cap reached' });

    const tcp = await silentSocket('127.0.0.4').catch(() => undefined);
    if (tcp) await closed(tcp);
    const ws = new WebSocket(t.wsUrl, 'mqtt', { localAddress: '127.0.0.4' });
    opened.push({ destroy: () => ws.terminate() });
    ws.on('error', () => {});
    await closed(ws); // upgraded, then closed by the broker without waiting for CONNECT
    expect(t.server.broker.pendingConnections).toBe(TOTAL);
    expect(await healthy()).toBe(true);

    for (const socket of more) socket.destroy();
    await waitFor(() => t.server.broker.pendingConnections === PER_ADDRESS, { what: 'slots released' });
    const late = await deviceFrom('127.0.0.4', 'cam3', await t.addDevice('cam3'));
    expect(late.connected).toBe(true);
    await late.endAsync();
    expect(t.server.broker.pendingConnections).toBe(PER_ADDRESS);
  });

  it('a pending WebSocket that never sends CONNECT counts until it closes', async () => {
    for (const s of opened.splice(0)) s.destroy();
    await waitFor(() => t.server.broker.pendingConnections === 0, { what: 'all pending closed' });
    const ws = new WebSocket(t.wsUrl, 'mqtt', { localAddress: '127.0.0.5' });
    opened.push({ destroy: () => ws.terminate() });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await waitFor(() => t.server.broker.pendingConnections === 1, { what: 'ws counted' });
    ws.terminate();
    await waitFor(() => t.server.broker.pendingConnections === 0, { what: 'ws released' });
  });
});
