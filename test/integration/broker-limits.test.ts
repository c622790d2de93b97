import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

let t: TestServer;
let secret: string;

beforeAll(async () => {
  t = await startTestServer({
    'mqtt.connectTimeoutMs': 800,
    'mqtt.maxPacketBytes': 16_384,
    'mqtt.authBackoff.maxFailures': 2,
    'mqtt.authBackoff.baseDelayMs': 60_000,
  });
  secret = await t.addDevice('cam1');
});
afterAll(() => t.close());

function rawSocket(): Promise<net.Socket> {
  const port = Number(new URL(t.mqttUrl).port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

function closed(socket: net.Socket): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(0);
    socket.once('close', () => resolve(Date.now() - started));
  });
}

describe('byte limits at the socket', () => {
  it('drops an oversized packet before CONNECT without buffering it', async () => {
    const junk = Buffer.alloc(32 * 1024 * 1024, 0x61); // allocated before the baseline
    const before = process.memoryUsage().arrayBuffers;
    const socket = await rawSocket();
    socket.on('error', () => {}); // EPIPE/ECONNRESET once the server hangs up
    const done = closed(socket);
    // CONNECT declaring 268 MB, then 32 MiB of body as fast as we can.
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    socket.write(junk);
    const ms = await done;
    expect(ms).toBeLessThan(2000);
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    // Server and test share this process: had the broker buffered the body, arrayBuffers would grow by ~32 MiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('drops a connection whose first packet is not CONNECT', async () => {
    const socket = await rawSocket();
    const done = closed(socket);
    socket.write(Buffer.from([0xc0, 0x00])); // PINGREQ
    expect(await done).toBeLessThan(2000);
  });

  it('closes a connection that never sends CONNECT after the connect timeout', async () => {
    const socket = await rawSocket();
    const ms = await closed(socket);
    expect(ms).toBeGreaterThan(500);
    expect(ms).toBeLessThan(3000);
  });

  it('disconnects a device sending a packet above maxPacketBytes', async () => {
    const cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    const gone = new Promise<void>((resolve) => cam.once('close', () => resolve()));
    cam.publish('lookout/cam1/up/big', Buffer.alloc(20_000));
    await gone;
    cam.end(true);
  });
});

describe('failed-login back-off', () => {
  it('refuses even the right secret after repeated failures from the same address and username', async () => {
    await t.addDevice('victim');
    const victimSecret = (await t.server.registry.devices.rotate('victim')).secret;
    for (let i = 0; i < 3; i++) {
      await t.connect({ username: 'victim', password: 'wrong', clientId: 'victim' }).catch(() => {});
    }
    const err = await t
      .connect({ username: 'victim', password: victimSecret, clientId: 'victim' })
      .catch((e) => e);
    expect(err.code).toBe(5);
    // Another device from the same address is unaffected.
    const cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    await cam.endAsync();
  });
});

describe('other transports', () => {
  it('speaks MQTT over WebSocket on /mqtt of the HTTP port, with the same auth', async () => {
    const connect = (password: string) =>
      new Promise<mqtt.MqttClient>((resolve, reject) => {
        const client = mqtt.connect(t.wsUrl, {
          username: 'cam1',
          password,
          clientId: 'cam1',
          reconnectPeriod: 0,
        });
        client.once('connect', () => resolve(client));
        client.once('error', (e) => {
          client.end(true);
          reject(e);
        });
      });
    const client = await connect(secret);
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.subscribeAsync('lookout/cam1/down/#');
    const service = await t.serviceClient();
    await service.publishAsync('lookout/cam1/down/signal', 'over ws', { qos: 1 });
    expect(await got).toBe('over ws');
    await client.endAsync();
    await service.endAsync();
    await expect(connect('wrong')).rejects.toMatchObject({ code: 4 });
  });

  const hasOpenssl = requireTool('openssl', ['version']);
  it.runIf(hasOpenssl)('opens an mqtts listener when a certificate and key are configured', async () => {
    const tmp = tempDir();
    const { certFile: cert, keyFile: key } = selfSignedCert(tmp.dir);
    const secure = await startTestServer({ 'mqtt.tls.cert': cert, 'mqtt.tls.key': key, 'mqtt.tls.port': 0 });
    try {
      const s = await secure.addDevice('tls-cam');
      const port = secure.server.broker.address('tls')!.port;
      const { readFileSync } = await import('node:fs');
      const client = await new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
          username: 'tls-cam',
          password: s,
          clientId: 'tls-cam',
          ca: readFileSync(cert),
          reconnectPeriod: 0,
        });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
      expect(client.connected).toBe(true);
      await client.endAsync();
    } finally {
      await secure.close();
      tmp.remove();
    }
  });
});
