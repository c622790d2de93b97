import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedWithin, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestServer;
let secret: string;

beforeAll(async () => {
  t = await startTestServer();
  secret = await t.addDevice('cam1');
  await t.addDevice('cam2');
});
afterAll(() => t.close());

const asCam1 = (extra = {}) => ({ username: 'cam1', password: secret, clientId: 'cam1', ...extra });

function refusal(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => {
      throw new Error('connection was accepted');
    },
    (err: { code?: number }) => err.code,
  );
}

describe('broker authentication', () => {
  it('accepts a registered device with its secret and client id', async () => {
    const client = await t.connect(asCam1());
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it('refuses a wrong secret, an unknown device, a missing password (bad username or password)', async () => {
    expect(await refusal(t.connect(asCam1({ password: `${secret}x` })))).toBe(4);
    expect(await refusal(t.connect({ username: 'ghost', password: secret, clientId: 'ghost' }))).toBe(4);
    expect(await refusal(t.connect({ username: 'cam1', clientId: 'cam1' }))).toBe(4);
  });

  it('refuses a client id that is not the device id (identifier rejected)', async () => {
    expect(await refusal(t.connect(asCam1({ clientId: 'cam2' })))).toBe(2);
    expect(await refusal(t.connect(asCam1({ clientId: 'mqttjs_1234' })))).toBe(2);
  });

  it('refuses a revoked device (not authorized)', async () => {
    const s = await t.addDevice('revoked-cam');
    await t.server.registry.devices.revoke('revoked-cam');
    expect(await refusal(t.connect({ username: 'revoked-cam', password: s, clientId: 'revoked-cam' }))).toBe(
      5,
    );
  });

  it("refuses a will outside the device's own up/ topics", async () => {
    const will = {
      topic: 'lookout/cam1/status',
      payload: Buffer.from('{"online":false}'),
      qos: 0 as const,
      retain: true,
    };
    expect(await refusal(t.connect(asCam1({ will })))).toBe(5);
    const ok = await t.connect(asCam1({ will: { ...will, topic: 'lookout/cam1/up/will' } }));
    await ok.endAsync();
  });
});

describe('per-device ACL', () => {
  let service: MqttClient;
  const received: string[] = [];

  beforeAll(async () => {
    service = await t.serviceClient();
    service.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    await service.subscribeAsync('lookout/#');
  });
  afterAll(() => service.endAsync());

  it('delivers what a device publishes under its own up/', async () => {
    const cam = await t.connect(asCam1());
    await cam.publishAsync('lookout/cam1/up/hello', 'hi', { qos: 1 });
    await waitFor(() => received.includes('lookout/cam1/up/hello hi'));
    await cam.endAsync();
  });

  it('grants subscriptions inside its subtree, refuses others (including wildcards)', async () => {
    const cam = await t.connect(asCam1());
    const filters = [
      'lookout/cam1/#',
      'lookout/cam2/#',
      '#',
      'lookout/#',
      'lookout/+/status',
      '+/cam1/#',
      '$SYS/#',
    ];
    const byTopic: Record<string, number> = {};
    for (const topic of filters) {
      // MQTT.js rejects a SUBACK carrying 0x80 (failure, MQTT 3.1.1 §3.9.3).
      byTopic[topic] = await cam.subscribeAsync(topic).then(
        (granted) => granted[0]!.qos,
        () => 128,
      );
    }
    expect(byTopic).toEqual({
      'lookout/cam1/#': 0,
      'lookout/cam2/#': 128,
      '#': 128,
      'lookout/#': 128,
      'lookout/+/status': 128,
      '+/cam1/#': 128,
      '$SYS/#': 128,
    });
    expect(cam.connected).toBe(true); // a refused subscription is not a reason to disconnect
    await cam.endAsync();
  });

  it("receives server messages for itself but never another device's", async () => {
    const cam = await t.connect(asCam1());
    const got: string[] = [];
    cam.on('message', (topic) => got.push(topic));
    await cam.subscribeAsync('lookout/cam1/#');
    await service.publishAsync('lookout/cam2/down/signal', 'not for cam1', { qos: 1 });
    await service.publishAsync('lookout/cam1/down/signal', 'for cam1', { qos: 1 });
    await waitFor(() => got.includes('lookout/cam1/down/signal'));
    expect(got).not.toContain('lookout/cam2/down/signal');
    await cam.endAsync();
  });

  it.each(['lookout/cam2/up/signal', 'lookout/cam1/status', 'lookout/cam1/down/signal', 'elsewhere/x'])(
    'drops and disconnects a device publishing to %s',
    async (topic) => {
      const cam = await t.connect(asCam1());
      const closed = closedWithin(cam, 10_000);
      cam.publish(topic, 'forged', { qos: 1 });
      await closed; // the broker has decided
      cam.end(true);
      // A marker published afterwards takes the same path (device, broker, service subscription) and
      // arrives after anything the forged message could have become. (`elsewhere/x` is outside what
      // any client may subscribe to; for it the disconnect is the observable part.)
      const marker = `marker for ${topic}`;
      const again = await t.connect(asCam1());
      await again.publishAsync('lookout/cam1/up/marker', marker, { qos: 1 });
      await waitFor(() => received.includes(`lookout/cam1/up/marker ${marker}`), { what: 'the marker' });
      expect(received).not.toContain(`${topic} forged`);
      await again.endAsync();
    },
  );
});

describe('presence', () => {
  it('goes offline when a device drops (last will) and online again on reconnect', async () => {
    const service = await t.serviceClient();
    const statuses: Array<{ online: boolean; at: string }> = [];
    service.on('message', (topic, payload) => {
      if (topic === 'lookout/cam2/status') statuses.push(JSON.parse(payload.toString()));
    });
    await service.subscribeAsync('lookout/+/status');
    const cam2Secret = (await t.server.registry.devices.rotate('cam2')).secret;

    const cam = await t.connect({ username: 'cam2', password: cam2Secret, clientId: 'cam2' });
    await waitFor(() => statuses.at(-1)?.online === true, { what: 'online status' });
    expect(t.server.broker.isOnline('cam2')).toBe(true);
    // The registry is written in batches (broker/presence-writer.ts): it follows within an interval.
    await waitFor(async () => (await t.server.registry.devices.require('cam2')).online, {
      what: 'registry online',
    });

    cam.stream.destroy(); // no DISCONNECT: the connection just dies
    await waitFor(() => statuses.at(-1)?.online === false, { what: 'offline status' });
    const device = await waitFor(
      async () => {
        const d = await t.server.registry.devices.require('cam2');
        return d.online ? undefined : d;
      },
      { what: 'registry offline' },
    );
    // last_seen_at is the time of the change (the status's `at`), not of the batched write.
    expect(device.lastSeenAt).toBe(Date.parse(statuses.at(-1)!.at));
    expect(Date.now() - device.lastSeenAt!).toBeLessThan(5000);
    cam.end(true);

    const again = await t.connect({ username: 'cam2', password: cam2Secret, clientId: 'cam2' });
    await waitFor(() => statuses.at(-1)?.online === true, { what: 'online again' });
    await again.endAsync(); // a clean DISCONNECT is offline too
    await waitFor(() => statuses.at(-1)?.online === false, { what: 'offline after DISCONNECT' });
    await service.endAsync();
  });

  it('keeps a device online when a second session takes over the first', async () => {
    const first = await t.connect(asCam1());
    const firstClosed = closedWithin(first, 3000);
    const second = await t.connect(asCam1());
    await firstClosed;
    first.end(true);
    await waitFor(() => t.server.broker.isOnline('cam1'));
    await waitFor(async () => (await t.server.registry.devices.require('cam1')).online, {
      what: 'registry online',
    });
    expect(t.server.broker.isOnline('cam1')).toBe(true);
    await second.endAsync();
  });
});

describe('credential changes', () => {
  it('rotate disconnects the old session within a second and the old secret stops working', async () => {
    const s = await t.addDevice('rot-cam');
    const cam = await t.connect({ username: 'rot-cam', password: s, clientId: 'rot-cam' });
    const started = Date.now();
    const closed = closedWithin(cam, 1000);
    await t.server.registry.devices.rotate('rot-cam');
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
    cam.end(true);
    expect(await refusal(t.connect({ username: 'rot-cam', password: s, clientId: 'rot-cam' }))).toBe(4);
  });
});
