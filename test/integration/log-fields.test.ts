import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../cli/server.js';
import { createLogger } from '../../core/log.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TurnTestClient } from '../helpers/turn-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** Every JSON line the server writes, as raw text (JSON.parse would hide a duplicated key). */
class LineCapture extends Writable {
  readonly lines: string[] = [];
  #partial = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    const parts = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = parts.pop() ?? '';
    this.lines.push(...parts.filter((line) => line.length > 0));
    done();
  }
}

/** How often `"key":` appears at the top level of a pino line (nested objects included: good enough for flat keys). */
function keyCount(line: string, key: string): number {
  return line.split(`"${key}":`).length - 1;
}

/**
 * A `lookout serve` logging JSON into memory: components are named once. pino concatenates
 * the bindings of a child of a child, so a component that names itself again under the
 * name its caller gave it prints `"component"` twice (issue 9, item 24: TURN lines did).
 */
describe('server log lines', () => {
  const capture = new LineCapture();
  let t: TestServer;
  let server: RunningServer;

  beforeAll(async () => {
    t = await startTestServer(
      {},
      { log: createLogger({ level: 'info', format: 'json', destination: capture }) },
    );
    server = t.server;
  });
  afterAll(() => t?.close());

  it('carry the component key once, TURN lines included', async () => {
    await server.registry.devices.add('cam1');
    const [ice] = server.turn.deviceIceServers('cam1', 1);
    const client = await TurnTestClient.open(
      { ip: '127.0.0.1', port: server.relay!.address().udp.port },
      'udp',
      { username: ice!.username!, password: ice!.credential! },
    );
    try {
      expect((await client.allocate()).code).toBe(0);
    } finally {
      await client.close();
    }
    const turnLines = () => capture.lines.filter((l) => l.includes('"component":"turn"'));
    await waitFor(() => turnLines().some((l) => l.includes('allocation created')), {
      what: 'the TURN allocation line',
    });
    expect(turnLines().some((l) => l.includes('TURN server listening'))).toBe(true);
    const repeated = capture.lines.filter((l) => keyCount(l, 'component') !== 1);
    expect(repeated).toEqual([]);
  });

  it('warn once per device and interval about TURN requests with credentials from before a rotate', async () => {
    await server.registry.devices.add('cam2');
    const [ice] = server.turn.deviceIceServers('cam2', 1);
    await server.registry.devices.rotate('cam2');
    const refusals = () =>
      capture.lines.filter((l) => l.includes('TURN request refused') && l.includes('"device":"cam2"'));
    for (let i = 0; i < 5; i++) {
      const client = await TurnTestClient.open(
        { ip: '127.0.0.1', port: server.relay!.address().udp.port },
        'udp',
        { username: ice!.username!, password: ice!.credential! },
      );
      try {
        expect((await client.allocate()).code).toBe(403);
      } finally {
        await client.close();
      }
    }
    // pino writes synchronously to the stream: every line of the five requests is in by now.
    expect(refusals()).toHaveLength(1);
    expect(JSON.parse(refusals()[0]!)).toMatchObject({ level: 40, device: 'cam2', generation: 1 });
  });
});
