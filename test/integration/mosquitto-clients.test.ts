import { execFile } from 'node:child_process';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const hasMosquitto = requireTool('mosquitto_pub') && requireTool('mosquitto_sub');

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe.runIf(hasMosquitto)('Mosquitto command-line clients against the broker', () => {
  let t: TestServer;
  let secret: string;
  let port: string;
  let service: MqttClient;
  const received: string[] = [];

  beforeAll(async () => {
    t = await startTestServer();
    secret = await t.addDevice('cam1');
    await t.addDevice('cam2');
    port = new URL(t.mqttUrl).port;
    service = await t.serviceClient();
    service.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    await service.subscribeAsync('lookout/#');
  });
  afterAll(async () => {
    await service.endAsync();
    await t.close();
  });

  const common = () => ['-h', '127.0.0.1', '-p', port, '-u', 'cam1', '-i', 'cam1', '-V', 'mqttv311'];

  it('mosquitto_pub with the device credentials publishes inside its subtree', async () => {
    const result = await run('mosquitto_pub', [
      ...common(),
      '-P',
      secret,
      '-q',
      '1',
      '-t',
      'lookout/cam1/up/hello',
      '-m',
      'from mosquitto',
    ]);
    expect(result).toEqual({ code: 0, output: '' });
    await waitFor(() => received.includes('lookout/cam1/up/hello from mosquitto'));
  });

  it('mosquitto_pub with a wrong password is refused', async () => {
    const result = await run('mosquitto_pub', [
      ...common(),
      '-P',
      'wrong',
      '-t',
      'lookout/cam1/up/x',
      '-m',
      'x',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/bad user name or password/i);
  });

  it('mosquitto_pub without the device id as client id is refused', async () => {
    const args = [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-u',
      'cam1',
      '-P',
      secret,
      '-t',
      'lookout/cam1/up/x',
      '-m',
      'x',
    ];
    const result = await run('mosquitto_pub', args);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/identifier rejected/i);
  });

  it("mosquitto_pub into another device's subtree never arrives", async () => {
    const publish = (topic: string, message: string) =>
      run('mosquitto_pub', [...common(), '-P', secret, '-q', '1', '-t', topic, '-m', message]);
    // The broker refuses the publish and drops the connection, then mosquitto_pub exits: the decision
    // is made. A marker the device publishes afterwards takes the same path (device, broker, service
    // subscription) and arrives after anything the forged message could have become.
    await publish('lookout/cam2/up/x', 'forged');
    await publish('lookout/cam1/up/x', 'marker');
    await waitFor(() => received.includes('lookout/cam1/up/x marker'), { what: 'the marker' });
    expect(received).not.toContain('lookout/cam2/up/x forged');
  });

  it('mosquitto_sub to # or another device is denied', async () => {
    for (const filter of ['#', 'lookout/cam2/#', 'lookout/+/status']) {
      const result = await run('mosquitto_sub', [...common(), '-P', secret, '-t', filter, '-W', '2']);
      expect(result.output).toMatch(/All subscription requests were denied/);
    }
  });

  it('mosquitto_sub on its own subtree sees its retained presence', async () => {
    const result = await run('mosquitto_sub', [
      ...common(),
      '-P',
      secret,
      '-t',
      'lookout/cam1/status',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.output)).toMatchObject({ online: true });
  });
});
