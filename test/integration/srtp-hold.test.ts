import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isKeyframeStart } from '../../media/keyframe.js';
import { annexB, recordVideo } from '../helpers/h264-rtp.js';
import { captureLog, printOnTestFailed } from '../helpers/log.js';
import { decodeErrors } from '../helpers/media-probe.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

// A camera nobody watches streams on for media.lingerMs; meanwhile its SRTP is held undecrypted
// (media/srtp-hold.ts) and decrypted in one go when a viewer comes back.
describe.runIf(hasFfmpeg)(
  'a lingering camera, its media held undecrypted (in-process server and agent)',
  () => {
    let t: TestServer;
    let token: string;
    const serverLog = captureLog('debug');
    const tmp = tempDir();
    const lines = (msg: string) => serverLog.lines.filter((l) => l.msg === msg);

    beforeAll(async () => {
      t = await startTestServer({ 'media.lingerMs': 120_000 }, { log: serverLog.log });
      token = (await t.server.registry.tokens.create('test')).token;
      await t.startCamera('cam1', { video: { keyframeIntervalSeconds: 2 } });
    });
    beforeEach(() => printOnTestFailed(serverLog, 'media'));
    afterAll(async () => {
      await t?.close();
      tmp.remove();
    });

    it('starts a returning viewer from the keyframe it held, decodable at once, with no keyframe request', async () => {
      const first = new WhepClient(t.httpUrl, token);
      expect((await first.play('cam1')).status).toBe(201);
      // Two keyframes: the hold window follows the camera's keyframe interval.
      await waitFor(() => first.stats.keyframes >= 2, {
        timeoutMs: 30_000,
        what: 'two keyframes at the viewer',
      });
      await first.stop();
      // Longer than a keyframe interval unwatched: what the cache held before is no longer the
      // latest keyframe; the latest is among the held packets.
      await new Promise((r) => setTimeout(r, 3000));
      const requests = lines('keyframe requested from the camera').length;

      const viewer = new WhepClient(t.httpUrl, token);
      const received = recordVideo(viewer);
      expect((await viewer.play('cam1')).status).toBe(201);
      await waitFor(() => viewer.stats.keyframes > 0 && received.length > 60, {
        timeoutMs: 15_000,
        what: 'a keyframe and more video at the returning viewer',
      });
      const decrypted = lines('held camera media decrypted');
      expect(decrypted).toHaveLength(1);
      // About 2 s of a 15 fps camera at least, every packet authenticated.
      expect(decrypted[0]).toMatchObject({ dropped: 0 });
      expect(decrypted[0]!.packets).toBeGreaterThan(30);
      expect(lines('viewer primed from the keyframe cache').length).toBeGreaterThan(0);
      expect(lines('keyframe requested from the camera')).toHaveLength(requests);

      const ordered = received
        .map((packet) => ({
          packet,
          n: (packet.header.sequenceNumber - received[0]!.header.sequenceNumber) & 0xffff,
        }))
        .sort((a, b) => a.n - b.n)
        .map((p) => p.packet);
      expect(isKeyframeStart('video/H264', ordered[0]!.payload)).toBe(true);
      const whole = ordered.slice(0, ordered.findLastIndex((p) => p.header.marker) + 1);
      const file = path.join(tmp.dir, 'returning.h264');
      writeFileSync(file, annexB(whole));
      expect(decodeErrors(file)).toBe('');
      await viewer.stop();
    });
  },
);
