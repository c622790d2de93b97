import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Issue 9 item 4: 50 bad logins from one address locked out every camera behind it (a whole
// carrier-grade NAT). Back-off is per (address, username) first; the address limit counts
// each username's free failures only, and spares usernames that logged in from there before.
// Short refusal periods so that every one of the 50 failures is really counted.
let t: TestServer;
/** Same limits, refusals long enough to observe reliably on a loaded machine. */
let slow: TestServer;
const limits = { 'mqtt.authBackoff.maxFailures': 2, 'mqtt.authBackoff.maxAddressFailures': 10 };

beforeAll(async () => {
  t = await startTestServer({
    ...limits,
    'mqtt.authBackoff.baseDelayMs': 20,
    'mqtt.authBackoff.maxDelayMs': 20,
  });
  slow = await startTestServer({ ...limits, 'mqtt.authBackoff.baseDelayMs': 60_000 });
});
afterAll(async () => {
  await t.close();
  await slow.close();
});

/** Logs in from `localAddress` (another loopback address plays another host); resolves with the CONNACK code. */
function login(localAddress: string, id: string, password: string, server = t): Promise<number> {
  const mqttPort = Number(new URL(server.mqttUrl).port);
  return new Promise((resolve, reject) => {
    const client: MqttClient = new mqtt.MqttClient(
      () => net.createConnection({ port: mqttPort, host: '127.0.0.1', localAddress }),
      { username: id, password, clientId: id, reconnectPeriod: 0, protocolVersion: 4 },
    );
    client.once('connect', () => client.end(true, () => resolve(0)));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
  });
}

/** One counted failure: retried while the pair is in back-off (code 5), until the secret is checked (code 4). */
async function countedFailure(localAddress: string, id: string): Promise<void> {
  for (;;) {
    const code = await login(localAddress, id, 'wrong-secret');
    if (code === 4) return;
    expect(code).toBe(5);
    await new Promise((r) => setTimeout(r, 25)); // pacing past the 20 ms refusal, not an assertion
  }
}

describe('login back-off behind a shared address', () => {
  it('50 bad logins of one username do not lock out another username from the same address', async () => {
    const secret = await t.addDevice('cam1');
    await t.addDevice('victim');
    for (let i = 0; i < 50; i++) await countedFailure('127.0.0.1', 'victim');
    expect(await login('127.0.0.1', 'cam1', secret)).toBe(0);
  });

  it('still limits an address walking through usernames, but not a username that logged in from it before', async () => {
    const secret = await slow.addDevice('known-cam');
    const freshSecret = await slow.addDevice('fresh-cam');
    expect(await login('127.0.0.2', 'known-cam', secret, slow)).toBe(0);
    // 11 usernames x 1 failure: past the address's 10 free failures.
    for (let i = 0; i < 11; i++) expect(await login('127.0.0.2', `guess-${i}`, 'wrong', slow)).toBe(4);
    expect(await login('127.0.0.2', 'fresh-cam', freshSecret, slow)).toBe(5);
    expect(await login('127.0.0.2', 'known-cam', secret, slow)).toBe(0);
    expect(await login('127.0.0.3', 'fresh-cam', freshSecret, slow)).toBe(0); // other addresses unaffected
  });
});
