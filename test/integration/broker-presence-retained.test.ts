/**
 * The retained-status contract of docs/mqtt-topics.md (Presence), now that the status is
 * served by broker/presence.ts instead of aedes's retained store (issue 9, item 19): a new
 * subscription receives the current status of every device its filter matches, with the
 * retain flag, after its SUBACK; later changes arrive live without it ([MQTT-3.3.1-9]).
 * Absence is checked by ordering, not by waiting: a marker published after the SUBACK
 * arrives after anything the SUBSCRIBE itself delivered.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../devices/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

interface Received {
  topic: string;
  online?: boolean;
  retain: boolean;
  text: string;
}

let t: TestServer;
const dataDir = tempDir();
const secrets = new Map<string, string>();
const DEVICES = Array.from({ length: 40 }, (_, i) => `cam${i}`);

beforeAll(async () => {
  // Registered before the server starts: "at server start every registered device is published offline".
  const registry = await openRegistry({ dataDir: dataDir.dir });
  for (const id of DEVICES) secrets.set(id, (await registry.devices.add(id)).secret);
  await registry.close();
  t = await startTestServer({ dataDir: dataDir.dir });
});
afterAll(async () => {
  await t.close();
  dataDir.remove();
});

function record(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    let online: boolean | undefined;
    try {
      online = (JSON.parse(text) as { online?: boolean }).online;
    } catch {}
    received.push({ topic, online, retain: packet.retain, text });
  });
  return received;
}

const asDevice = (id: string) => ({ username: id, password: secrets.get(id)!, clientId: id });

let markers = 0;

/** Publishes a marker to the device's down/ and resolves once the device has it. */
async function marker(service: MqttClient, id: string, received: Received[]): Promise<void> {
  const text = `marker-${++markers}`;
  await service.publishAsync(`lookout/${id}/down/marker`, text, { qos: 1 });
  await waitFor(() => received.some((m) => m.text === text), { what: `marker on ${id}'s down/` });
}

describe('retained device status', () => {
  it('a device subscribing to its own status (or subtree) gets its current status, retained', async () => {
    const cam = await t.connect(asDevice('cam1'));
    const received = record(cam);
    await cam.subscribeAsync('lookout/cam1/status', { qos: 1 });
    await waitFor(() => received.find((m) => m.topic === 'lookout/cam1/status'), { what: 'retained status' });
    expect(received[0]).toMatchObject({ topic: 'lookout/cam1/status', online: true, retain: true });

    await cam.subscribeAsync('lookout/cam1/#', { qos: 1 });
    await waitFor(() => received.length >= 2, { what: 'status again for the subtree filter' });
    expect(received[1]).toMatchObject({ topic: 'lookout/cam1/status', online: true, retain: true });
    await cam.endAsync();
  });

  it('a device filter that does not match its status gets none, and a refused filter gets nothing', async () => {
    const service = await t.serviceClient();
    const cam = await t.connect(asDevice('cam2'));
    const received = record(cam);
    await cam.subscribeAsync('lookout/cam2/down/#', { qos: 1 });
    // MQTT.js rejects a SUBACK carrying 0x80 (failure, MQTT 3.1.1 §3.9.3).
    const refused = await cam.subscribeAsync('lookout/+/status', { qos: 1 }).then(
      () => 'granted',
      () => 'refused',
    );
    expect(refused).toBe('refused');
    await marker(service, 'cam2', received);
    expect(received.map((m) => m.topic)).toEqual(['lookout/cam2/down/marker']);
    await cam.endAsync();
    await service.endAsync();
  });

  it('a service subscribing to <prefix>/+/status gets every registered device, retained, then live changes', async () => {
    const online = await Promise.all(['cam3', 'cam4'].map((id) => t.connect(asDevice(id))));
    const service = await t.serviceClient();
    const received = record(service);
    await service.subscribeAsync('lookout/+/status', { qos: 1 });
    await waitFor(() => new Set(received.map((m) => m.topic)).size >= DEVICES.length, {
      what: 'a status per registered device',
    });
    const byDevice = new Map(received.map((m) => [m.topic.split('/')[1], m]));
    expect([...byDevice.keys()].sort()).toEqual([...DEVICES].sort());
    expect(received.every((m) => m.retain)).toBe(true);
    expect(byDevice.get('cam3')?.online).toBe(true);
    expect(byDevice.get('cam4')?.online).toBe(true);
    expect(byDevice.get('cam5')?.online).toBe(false);
    expect(received.length).toBe(DEVICES.length);

    // A change after the subscription is a live message: retain flag 0 ([MQTT-3.3.1-9]).
    const seen = received.length;
    await online[0]!.endAsync();
    await waitFor(() => received.slice(seen).find((m) => m.topic === 'lookout/cam3/status'), {
      what: 'live offline status',
    });
    expect(received.slice(seen).find((m) => m.topic === 'lookout/cam3/status')).toMatchObject({
      online: false,
      retain: false,
    });

    // A new subscriber then gets the new state as its retained status.
    const late = await t.serviceClient();
    const lateReceived = record(late);
    await late.subscribeAsync('lookout/cam3/status', { qos: 1 });
    await waitFor(() => lateReceived[0], { what: 'retained status for a late subscriber' });
    expect(lateReceived[0]).toMatchObject({ online: false, retain: true });
    await Promise.all([online[1]!.endAsync(), service.endAsync(), late.endAsync()]);
  });

  it('a QoS 0 subscription gets the retained status at QoS 0', async () => {
    const service = await t.serviceClient();
    const received: Array<{ qos: number }> = [];
    service.on('message', (_topic, _payload, packet) => received.push({ qos: packet.qos }));
    await service.subscribeAsync('lookout/cam6/status', { qos: 0 });
    await waitFor(() => received[0], { what: 'retained status at QoS 0' });
    expect(received[0]!.qos).toBe(0);
    await service.endAsync();
  });
});
