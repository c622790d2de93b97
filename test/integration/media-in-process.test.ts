import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

// `media.workers: 0` (docs/configuration.md): the media engine runs in the server's process, for
// debugging with one inspector, behind the same JSON boundary as a worker process.
describe.runIf(hasFfmpeg)('media in the server process (media.workers 0)', () => {
  let t: TestServer;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer({ 'media.workers': 0, 'recording.segmentSeconds': 5 });
    token = (await t.server.registry.tokens.create('test')).token;
    await t.startCamera('cam1', { video: { keyframeIntervalSeconds: 1 } });
  });
  afterAll(() => t?.close());

  it('streams to a viewer and records, with no worker process', { timeout: 90_000 }, async () => {
    expect(t.server.mediaWorkers).toBe(0);
    const viewer = new WhepClient(t.httpUrl, token);
    try {
      expect((await viewer.play('cam1')).status).toBe(201);
      await waitFor(() => viewer.stats.keyframes > 0 && viewer.stats.video > 30, {
        timeoutMs: 30_000,
        what: 'video at the viewer',
      });
      const [engine, ...others] = await t.server.media.stats();
      expect(others).toEqual([]);
      expect(engine!.pid).toBe(process.pid);
      expect(engine!.cameras).toMatchObject([{ cameraId: 'cam1', viewers: 1 }]);
      await t.server.registry.devices.setRecording('cam1', { mode: 'continuous' });
      await t.server.recordings.refresh('cam1');
      await waitFor(
        async () =>
          (await t.server.registry.recordings.between('cam1', 0, Date.now() + 1000)).some(
            (s) => s.state === 'complete',
          ),
        { what: 'a complete segment', timeoutMs: 60_000 },
      );
    } finally {
      await viewer.stop();
    }
  });
});
