import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTied, stopTied } from '../../core/tied-process.js';
import { freePortRange } from '../helpers/ports.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

describe.runIf(hasFfmpeg)('agent with an RTSP camera as its source', () => {
  let t: TestServer;
  let rtsp: { close(): void };
  let publisher: ReturnType<typeof spawnTied>;
  let clientPort: number;

  beforeAll(async () => {
    // Free ports chosen now (test files run side by side): RTSP for publishers and for clients, then RTP.
    const base = await freePortRange(2, { tcp: true });
    clientPort = base + 1;
    // A real RTSP server (npm rtsp-streaming-server) fed by ffmpeg: what an IP camera looks like to the agent.
    type Listener = { server: { close(): void } };
    const { default: RtspServer } = (await import('rtsp-streaming-server')) as unknown as {
      default: new (o: object) => { start(): Promise<void>; ClientServer: Listener; PublishServer: Listener };
    };
    const server = new RtspServer({
      serverPort: base,
      clientPort,
      rtpPortStart: await freePortRange(40),
      rtpPortCount: 40,
    });
    await server.start();
    // It has no stop(): close its two RTSP listeners ourselves.
    rtsp = {
      close: () => {
        for (const listener of [server.ClientServer, server.PublishServer]) listener.server.close();
      },
    };
    publisher = spawnTied('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=15',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'baseline',
      '-g',
      '15',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'rtsp',
      `rtsp://127.0.0.1:${base}/cam`,
    ]);
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
    if (publisher) await stopTied(publisher);
    rtsp?.close();
  });

  it("copies the camera's H.264 (no re-encoding) to a viewer", { timeout: 40_000 }, async () => {
    // This RTSP server relays RTP over UDP only; real cameras get the default, TCP.
    await t.startCamera('ipcam', {
      audio: { codec: 'none' },
      source: `rtsp://127.0.0.1:${clientPort}/cam`,
      rtspTransport: 'udp',
    });
    const token = (await t.server.registry.tokens.create('test')).token;
    const viewer = new WhepClient(t.httpUrl, token);
    expect((await viewer.play('ipcam')).status).toBe(201);
    await waitFor(() => viewer.stats.keyframes > 0 && viewer.stats.video > 50, {
      timeoutMs: 30_000,
      what: 'video from the RTSP camera',
    });
    expect(viewer.stats.videoCodec).toBe('video/H264');
    await viewer.stop();
  });
});
