import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEdgeConfig } from '../../edge-config/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const hasMosquitto = requireTool('mosquitto_pub');
const README = path.resolve(import.meta.dirname, '../../README.md');

/**
 * The README's "Try the credentials" commands, run as written (only the host and port are
 * pointed at a test server): the one marked `# accepted` reaches the broker on the topic it
 * names, the one marked `# refused` is refused.
 */
function readmeCommands(): { script: string[]; expected: Array<'accepted' | 'refused'>; topics: string[] } {
  const lines = readFileSync(README, 'utf8').split('\n');
  const script: string[] = [];
  const expected: Array<'accepted' | 'refused'> = [];
  const topics: string[] = [];
  for (const line of lines) {
    if (/^PASS=\$\(node -p /.test(line)) script.push(line);
    const pub = /^(mosquitto_pub .*?)\s+#\s*(accepted|refused)\s*$/.exec(line);
    if (!pub) continue;
    script.push(`${pub[1]}; echo "exit=$?"`);
    expected.push(pub[2] as 'accepted' | 'refused');
    topics.push(/\s-t\s+(\S+)/.exec(pub[1]!)![1]!);
  }
  return { script, expected, topics };
}

describe.runIf(hasMosquitto)("the README's mosquitto_pub commands", () => {
  let t: TestServer;
  let service: MqttClient;
  let tmp: ReturnType<typeof tempDir>;
  const received: string[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    t = await startTestServer();
    const secret = await t.addDevice('cam1');
    // What `lookout device add cam1` writes next to the user.
    const edge = renderEdgeConfig({
      deviceId: 'cam1',
      name: 'Front door',
      secret,
      mqttUrl: t.mqttUrl,
      topicPrefix: 'lookout',
    });
    writeFileSync(path.join(tmp.dir, 'cam1.json'), JSON.stringify(edge));
    service = await t.serviceClient();
    service.on('message', (topic, payload) => received.push(`${topic} ${payload}`));
    await service.subscribeAsync('lookout/#', { qos: 1 });
  });
  afterAll(async () => {
    await service?.endAsync(true);
    await t?.close();
    tmp?.remove();
  });

  it('are accepted and refused as their comments say, on the topic they name', async () => {
    const { script, expected, topics } = readmeCommands();
    expect(script[0]).toMatch(/^PASS=/);
    expect(expected).toEqual(['accepted', 'refused']);
    const port = new URL(t.mqttUrl).port;
    const body = script.map((line) => line.replaceAll('-h localhost', `-h 127.0.0.1 -p ${port}`)).join('\n');
    const output = await new Promise<string>((resolve, reject) =>
      execFile('bash', ['-c', body], { cwd: tmp.dir, timeout: 15_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout + stderr),
      ),
    );
    const codes = [...output.matchAll(/exit=(\d+)/g)].map((m) => Number(m[1]));
    expect(
      codes.map((code) => (code === 0 ? 'accepted' : 'refused')),
      output,
    ).toEqual(expected);
    await waitFor(() => received.includes(`${topics[0]} hi`), {
      what: `the accepted message on ${topics[0]}`,
    });
    // A test topic, not the signaling one (issue 9, item 18: `up/hello` was read as the hello topic).
    expect(topics[0]).toBe('lookout/cam1/up/test');
  });
});
