import net from 'node:net';
import type { MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedWithin, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 9 item 2: what one device can make the broker keep. Devices cannot retain, QoS 2
// publishes withheld from PUBREL and messages queued for a persistent session are bounded
// per client across reconnects, and a revoked device's session and retained messages go.
const MAX_INFLIGHT = 8;
const MAX_QUEUED = 20;
const MAX_SUBSCRIPTIONS = 4;

let t: TestServer;
let service: MqttClient;
const seen: Array<{ topic: string; payload: string; retain: boolean }> = [];

beforeAll(async () => {
  t = await startTestServer({
    'mqtt.session.maxInflightQos2': MAX_INFLIGHT,
    'mqtt.session.maxQueuedMessages': MAX_QUEUED,
    'mqtt.session.maxSubscriptions': MAX_SUBSCRIPTIONS,
  });
  service = await t.serviceClient();
  service.on('message', (topic, payload, packet) =>
    seen.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  await service.subscribeAsync(['lookout/+/up/#', 'lookout/+/down/marker'], { qos: 1 });
});
afterAll(() => t.close());

/** A raw MQTT 3.1.1 connection: we decide which acknowledgements are (not) sent. */
interface Raw {
  send(packet: Partial<Packet> & { cmd: Packet['cmd'] }): void;
  received: Packet[];
  closed: Promise<void>;
  isClosed(): boolean;
  destroy(): void;
}

async function rawLogin(id: string, secret: string, clean: boolean): Promise<Raw> {
  const socket = net.connect(Number(new URL(t.mqttUrl).port), '127.0.0.1');
  socket.on('error', () => {});
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received: Packet[] = [];
  parser.on('packet', (p) => received.push(p));
  socket.on('data', (chunk) => parser.parse(chunk));
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  const send = (packet: object) => {
    if (!socket.destroyed) socket.write(mqttPacket.generate(packet as Packet));
  };
  send({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean,
    clientId: id,
    keepalive: 60,
    username: id,
    password: Buffer.from(secret),
  });
  await waitFor(() => received.find((p) => p.cmd === 'connack'), { what: `CONNACK for ${id}` });
  const connack = received.find((p) => p.cmd === 'connack') as mqttPacket.IConnackPacket;
  expect(connack.returnCode).toBe(0);
  return { send, received, closed, isClosed: () => isClosed, destroy: () => socket.destroy() };
}

/** Publishes a marker as `device` and waits for the service to see it: everything sent before has been handled. */
async function marker(device: Raw, deviceId: string, text: string): Promise<void> {
  device.send({
    cmd: 'publish',
    topic: `lookout/${deviceId}/up/marker`,
    payload: Buffer.from(text),
    qos: 0,
    retain: false,
    dup: false,
  });
  await waitFor(() => seen.some((m) => m.payload === text), { what: `marker ${text}` });
}

/**
 * Publishes a marker as the service and waits until it comes back: the broker handles one
 * client's publishes in order, so what the service published before has been stored by then.
 */
async function serviceMarker(deviceId: string, text: string): Promise<void> {
  await service.publishAsync(`lookout/${deviceId}/down/marker`, text, { qos: 1 });
  await waitFor(() => seen.some((m) => m.payload === text), { what: `marker ${text}` });
}

describe('devices cannot retain', () => {
  it('delivers a retained up/ publish live but does not store it; a new subscriber gets nothing retained', async () => {
    const secret = await t.addDevice('ret-cam');
    const cam = await rawLogin('ret-cam', secret, true);
    const big = Buffer.alloc(60_000, 0x61);
    for (let i = 0; i < 5; i++) {
      cam.send({
        cmd: 'publish',
        topic: `lookout/ret-cam/up/state${i}`,
        payload: big,
        qos: 1,
        messageId: i + 1,
        retain: true,
        dup: false,
      });
    }
    await waitFor(() => seen.filter((m) => m.topic.startsWith('lookout/ret-cam/up/state')).length === 5, {
      what: 'live delivery',
    });
    expect(cam.isClosed()).toBe(false);

    const late = await t.serviceClient();
    const lateGot: Array<{ topic: string; retain: boolean }> = [];
    late.on('message', (topic, _payload, packet) => lateGot.push({ topic, retain: packet.retain }));
    await late.subscribeAsync('lookout/ret-cam/up/#', { qos: 1 });
    await marker(cam, 'ret-cam', 'after-subscribe');
    await waitFor(() => lateGot.some((m) => m.topic === 'lookout/ret-cam/up/marker'), {
      what: 'marker at the late subscriber',
    });
    expect(lateGot).toEqual([{ topic: 'lookout/ret-cam/up/marker', retain: false }]);
    cam.destroy();
    await late.endAsync();
  });

  it("clears the retain flag of a device's will", async () => {
    const secret = await t.addDevice('will-cam');
    const cam = await t.connect({
      username: 'will-cam',
      password: secret,
      clientId: 'will-cam',
      will: { topic: 'lookout/will-cam/up/will', payload: Buffer.from('gone'), qos: 1, retain: true },
    });
    cam.stream.destroy(); // no DISCONNECT: the will is published
    await waitFor(() => seen.some((m) => m.topic === 'lookout/will-cam/up/will'), {
      what: 'will delivered live',
    });
    cam.end(true);
    const late = await t.serviceClient();
    const lateGot: string[] = [];
    late.on('message', (topic) => lateGot.push(topic));
    await late.subscribeAsync('lookout/will-cam/#', { qos: 1 });
    const again = await rawLogin('will-cam', secret, true);
    await marker(again, 'will-cam', 'will-marker');
    await waitFor(() => lateGot.includes('lookout/will-cam/up/marker'), {
      what: 'marker at the late subscriber',
    });
    expect(lateGot).not.toContain('lookout/will-cam/up/will');
    again.destroy();
    await late.endAsync();
  });
});

describe('bounded sessions', () => {
  it('QoS 2 publishes without PUBREL stay bounded across reconnects of a persistent session', async () => {
    const secret = await t.addDevice('q2-cam');
    const payload = Buffer.alloc(60_000, 0x62);
    let id = 1;
    let refusedConnections = 0;
    for (let round = 0; round < 6; round++) {
      const cam = await rawLogin('q2-cam', secret, false);
      for (let i = 0; i < 5 && !cam.isClosed(); i++) {
        const messageId = id++;
        cam.send({
          cmd: 'publish',
          topic: 'lookout/q2-cam/up/big',
          payload,
          qos: 2,
          messageId,
          retain: false,
          dup: false,
        });
        // PUBREC, or the connection closed because the bound was reached.
        await waitFor(
          () => cam.isClosed() || cam.received.some((p) => p.cmd === 'pubrec' && p.messageId === messageId),
          {
            what: `PUBREC ${messageId}`,
          },
        );
        expect(t.server.broker.sessionStats('q2-cam').inflightQos2).toBeLessThanOrEqual(MAX_INFLIGHT);
      }
      if (cam.isClosed()) refusedConnections++;
      cam.destroy();
      await cam.closed;
    }
    expect(t.server.broker.sessionStats('q2-cam').inflightQos2).toBe(MAX_INFLIGHT);
    expect(refusedConnections).toBeGreaterThan(0);

    // A well-behaved client resends PUBREL after reconnecting [MQTT-4.4.0-1]: that frees the slots.
    const cam = await rawLogin('q2-cam', secret, false);
    for (let messageId = 1; messageId < id; messageId++) cam.send({ cmd: 'pubrel', messageId });
    await waitFor(() => t.server.broker.sessionStats('q2-cam').inflightQos2 === 0, {
      what: 'slots released by PUBREL',
    });
    cam.send({
      cmd: 'publish',
      topic: 'lookout/q2-cam/up/big',
      payload,
      qos: 2,
      messageId: 999,
      retain: false,
      dup: false,
    });
    await waitFor(() => cam.received.some((p) => p.cmd === 'pubrec' && p.messageId === 999), {
      what: 'PUBREC after release',
    });
    cam.destroy();
  });

  it('queues at most maxQueuedMessages for an offline persistent session, and delivers those on return', async () => {
    const secret = await t.addDevice('off-cam');
    const cam = await rawLogin('off-cam', secret, false);
    cam.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'lookout/off-cam/down/#', qos: 1 }],
    });
    await waitFor(() => cam.received.some((p) => p.cmd === 'suback'), { what: 'SUBACK' });
    cam.destroy();
    await waitFor(() => !t.server.broker.isOnline('off-cam'), { what: 'off-cam offline' });

    for (let i = 0; i < 3 * MAX_QUEUED; i++)
      await service.publishAsync('lookout/off-cam/down/signal', `m${i}`, { qos: 1 });
    await serviceMarker('other-cam', 'off-cam published');
    expect(t.server.broker.sessionStats('off-cam').queuedMessages).toBe(MAX_QUEUED);

    const back = await rawLogin('off-cam', secret, false);
    await waitFor(() => back.received.filter((p) => p.cmd === 'publish').length === MAX_QUEUED, {
      what: 'queued delivered',
    });
    const delivered = back.received.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
    expect(delivered.map((p) => p.payload.toString())).toEqual(
      Array.from({ length: MAX_QUEUED }, (_, i) => `m${i}`),
    );
    for (const p of delivered) back.send({ cmd: 'puback', messageId: p.messageId! });
    await waitFor(() => t.server.broker.sessionStats('off-cam').queuedMessages === 0, {
      what: 'acknowledged',
    });
    back.destroy();
  });

  it('disconnects a connected persistent session that never acknowledges, its queue bounded', async () => {
    const secret = await t.addDevice('deaf-cam');
    const cam = await rawLogin('deaf-cam', secret, false);
    cam.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'lookout/deaf-cam/down/#', qos: 1 }],
    });
    await waitFor(() => cam.received.some((p) => p.cmd === 'suback'), { what: 'SUBACK' });
    for (let i = 0; i < MAX_QUEUED + 5 && !cam.isClosed(); i++) {
      await service.publishAsync('lookout/deaf-cam/down/signal', `d${i}`, { qos: 1 });
      expect(t.server.broker.sessionStats('deaf-cam').queuedMessages).toBeLessThanOrEqual(MAX_QUEUED);
    }
    await cam.closed; // no PUBACK ever: the broker ends the session's connection once its queue is full
    expect(cam.received.filter((p) => p.cmd === 'publish').length).toBeGreaterThanOrEqual(MAX_QUEUED);
    expect(t.server.broker.sessionStats('deaf-cam').queuedMessages).toBeLessThanOrEqual(MAX_QUEUED);
  });

  it('refuses subscriptions beyond maxSubscriptions and keeps the connection', async () => {
    const secret = await t.addDevice('sub-cam');
    const cam = await rawLogin('sub-cam', secret, true);
    const filters = Array.from({ length: MAX_SUBSCRIPTIONS + 2 }, (_, i) => `lookout/sub-cam/down/f${i}`);
    cam.send({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })),
    });
    const suback = await waitFor(
      () => cam.received.find((p): p is mqttPacket.ISubackPacket => p.cmd === 'suback'),
      { what: 'SUBACK' },
    );
    expect(suback.granted.filter((g) => g === 128)).toHaveLength(2);
    expect(cam.isClosed()).toBe(false);
    cam.destroy();
  });
});

describe('revoking a device', () => {
  it('removes its persistent session and the retained messages in its subtree, keeps its status', async () => {
    const secret = await t.addDevice('rev-cam');
    const cam = await rawLogin('rev-cam', secret, false);
    cam.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'lookout/rev-cam/down/#', qos: 1 }],
    });
    await waitFor(() => cam.received.some((p) => p.cmd === 'suback'), { what: 'SUBACK' });
    cam.destroy();
    await waitFor(() => !t.server.broker.isOnline('rev-cam'), { what: 'rev-cam offline' });
    // Services may retain: a retained config message about the device, and a queued one.
    await service.publishAsync('lookout/rev-cam/down/config', 'cfg', { qos: 1, retain: true });
    await service.publishAsync('lookout/rev-cam/down/signal', 'queued', { qos: 1 });
    await waitFor(() => t.server.broker.sessionStats('rev-cam').queuedMessages === 2, { what: 'two queued' });

    await t.server.registry.devices.revoke('rev-cam');
    await waitFor(() => t.server.broker.sessionStats('rev-cam').queuedMessages === 0, {
      what: 'session dropped',
      timeoutMs: 5000,
    });
    // The stored subscription went too: nothing is queued for the revoked device any more.
    await service.publishAsync('lookout/rev-cam/down/signal', 'after revoke', { qos: 1 });
    await serviceMarker('rev-cam', 'rev-cam after revoke');
    expect(t.server.broker.sessionStats('rev-cam').queuedMessages).toBe(0);

    const late = await t.serviceClient();
    const lateGot: string[] = [];
    late.on('message', (topic) => lateGot.push(topic));
    await late.subscribeAsync('lookout/rev-cam/#', { qos: 1 });
    await serviceMarker('rev-cam', 'rev-cam late marker');
    await waitFor(() => lateGot.includes('lookout/rev-cam/down/marker'), {
      what: 'marker at the late subscriber',
    });
    expect(lateGot).toEqual(['lookout/rev-cam/status', 'lookout/rev-cam/down/marker']);
    await late.endAsync();
  });

  it('disconnects a connected revoked device and drops its session', async () => {
    const secret = await t.addDevice('rev2-cam');
    const cam = await t.connect({
      username: 'rev2-cam',
      password: secret,
      clientId: 'rev2-cam',
      clean: false,
    });
    await cam.subscribeAsync('lookout/rev2-cam/down/#', { qos: 1 });
    const gone = closedWithin(cam, 3000);
    await t.server.registry.devices.revoke('rev2-cam');
    await gone;
    cam.end(true);
    // The purge runs once the session has closed; then nothing is stored for the device.
    await waitFor(() => !t.server.broker.isOnline('rev2-cam'), { what: 'rev2-cam offline' });
    await service.publishAsync('lookout/rev2-cam/down/signal', 'after revoke', { qos: 1 });
    await serviceMarker('rev2-cam', 'rev2-cam after revoke');
    expect(t.server.broker.sessionStats('rev2-cam').queuedMessages).toBe(0);
  });
});

describe('deleting a device', () => {
  it('disconnects it and removes its session, its retained messages and its status (through the device event)', async () => {
    const secret = await t.addDevice('del-cam');
    const cam = await rawLogin('del-cam', secret, false);
    cam.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'lookout/del-cam/down/#', qos: 1 }],
    });
    await waitFor(() => cam.received.some((p) => p.cmd === 'suback'), { what: 'SUBACK' });
    await service.publishAsync('lookout/del-cam/down/config', 'cfg', { qos: 1, retain: true });

    // As `lookout device delete` in another process would: only the registry, the event does the rest.
    await t.server.registry.devices.delete('del-cam', { recordings: 'keep' });
    await cam.closed;
    await waitFor(() => !t.server.broker.isOnline('del-cam'), { what: 'del-cam offline' });
    await service.publishAsync('lookout/del-cam/down/signal', 'after delete', { qos: 1 });
    await serviceMarker('del-cam', 'del-cam after delete');
    expect(t.server.broker.sessionStats('del-cam').queuedMessages).toBe(0);

    // The purge finishes after the session closed: a late subscriber gets, soon, nothing retained
    // (neither the service's config nor the status), only a marker sent after it subscribed.
    let attempt = 0;
    let lateGot: string[] = [];
    await waitFor(
      async () => {
        const late = await t.serviceClient();
        lateGot = [];
        late.on('message', (topic, payload) => lateGot.push(`${topic} ${payload}`));
        await late.subscribeAsync('lookout/del-cam/#', { qos: 1 });
        const text = `del-cam late marker ${++attempt}`;
        await serviceMarker('del-cam', text);
        await waitFor(() => lateGot.includes(`lookout/del-cam/down/marker ${text}`), {
          what: 'marker at the late subscriber',
        });
        await late.endAsync();
        return lateGot.length === 1;
      },
      { what: 'nothing retained for del-cam, only the late marker', timeoutMs: 10_000 },
    );
  });
});
