import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

/** Whether something on this machine holds UDP `address:port` (binding it fails). */
function udpInUse(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(true));
    socket.bind(port, address, () => socket.close(() => resolve(false)));
  });
}

// What an embedded TURN server's allowPeer hook will ask: where does the media node listen for cameras?
describe.runIf(hasFfmpeg)('media node: upstream host candidates', () => {
  let t: TestServer;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer({ 'media.lingerMs': 500 });
    token = (await t.server.registry.tokens.create('test')).token;
  });
  afterAll(() => t?.close());

  it('lists the UDP addresses of open camera sessions, and none once they close', async () => {
    expect(t.server.media.upstreamHostCandidates()).toEqual([]);
    const agent = await t.startCamera('cam1');
    const viewer = new WhepClient(t.httpUrl, token);
    expect((await viewer.play('cam1')).status).toBe(201);
    await waitFor(() => viewer.stats.video > 10, { timeoutMs: 15_000, what: 'video at the viewer' });
    const candidates = t.server.media.upstreamHostCandidates();
    expect(candidates.length).toBeGreaterThan(0);
    for (const { address, port } of candidates) {
      expect(port).toBeGreaterThan(0);
      expect(await udpInUse(address, port), `${address}:${port} is a live socket`).toBe(true);
    }
    await viewer.stop();
    await waitFor(() => !agent.streaming, { timeoutMs: 10_000, what: 'the camera session to close' });
    await waitFor(() => t.server.media.upstreamHostCandidates().length === 0, {
      what: 'no candidates after the session',
    });
  });
});
