import { spawnSync } from 'node:child_process';
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

describe.runIf(hasFfmpeg)('keyframe cache (in-process server and agent, werift viewers)', () => {
  let t: TestServer;
  let token: string;
  const serverLog = captureLog('debug');
  const keyframeRequests = () =>
    serverLog.lines.filter((l) => l.msg === 'keyframe requested from the camera').length;
  const tmp = tempDir();

  beforeAll(async () => {
    t = await startTestServer({ 'media.lingerMs': 1000 }, { log: serverLog.log });
    token = (await t.server.registry.tokens.create('test')).token;
    // One keyframe every 20 s: without the cache, a viewer joining after the first one waits for a
    // keyframe request (the camera restarts its encoder) or for up to 20 s.
    await t.startCamera('cam1', { video: { keyframeIntervalSeconds: 20 } });
  });
  beforeEach(() => printOnTestFailed(serverLog, 'media'));
  afterAll(async () => {
    await t?.close();
    tmp.remove();
  });

  it('starts a viewer of a warm camera from the cached keyframe: decodable at once, no request to the camera, no gap into live', async () => {
    const keeper = new WhepClient(t.httpUrl, token);
    expect((await keeper.play('cam1')).status).toBe(201);
    await waitFor(() => keeper.stats.keyframes > 0 && keeper.stats.video > 30, {
      timeoutMs: 20_000,
      what: 'the first viewer to get video',
    });
    const cameraKeyframes = keeper.stats.keyframes;
    const requestsBefore = keyframeRequests();

    const viewer = new WhepClient(t.httpUrl, token);
    const received = recordVideo(viewer);
    expect((await viewer.play('cam1')).status).toBe(201);
    await waitFor(() => viewer.stats.keyframes > 0, {
      timeoutMs: 15_000,
      what: 'a keyframe at the new viewer',
    });
    // The camera sent no keyframe since: the new viewer's came from the cache.
    expect(keeper.stats.keyframes).toBe(cameraKeyframes);
    // Decided when the viewer connected (synchronously, before anything was sent to it): no request.
    expect(keyframeRequests()).toBe(requestsBefore);

    // Video well past the burst: 60 more packets at the first viewer, 100 in all at the new one.
    const keeperVideo = keeper.stats.video;
    await waitFor(() => keeper.stats.video > keeperVideo + 60 && received.length > 100, {
      timeoutMs: 15_000,
      what: 'live video after the burst',
    });
    // A keyframe request would have restarted the camera's encoder: a new keyframe at the keeper.
    expect(keeper.stats.keyframes).toBe(cameraKeyframes);
    expect(keyframeRequests()).toBe(requestsBefore);

    const first = received[0]!;
    expect(isKeyframeStart('video/H264', first.payload)).toBe(true);
    // One stream: every sequence number once, none missing (loopback may reorder, not lose).
    const bySeq = received
      .map((packet) => ({ packet, n: (packet.header.sequenceNumber - first.header.sequenceNumber) & 0xffff }))
      .sort((a, b) => a.n - b.n);
    expect(new Set(bySeq.map((p) => p.n)).size).toBe(bySeq.length);
    expect(bySeq.at(-1)!.n).toBe(bySeq.length - 1);
    // Timestamps advance frame by frame, through the burst and into live.
    const ordered = bySeq.map((p) => p.packet);
    for (let i = 1; i < ordered.length; i++) {
      const step = (ordered[i]!.header.timestamp - ordered[i - 1]!.header.timestamp) | 0;
      if (ordered[i - 1]!.header.marker) expect(step).toBeGreaterThan(0);
      else expect(step).toBe(0);
    }
    const whole = ordered.slice(0, ordered.findLastIndex((p) => p.header.marker) + 1);

    // What the new viewer got decodes from its first frame, which is a keyframe.
    const file = path.join(tmp.dir, 'viewer.h264');
    writeFileSync(file, annexB(whole));
    const probe = spawnSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v',
        '-show_entries',
        'frame=key_frame,pict_type',
        '-of',
        'csv=p=0',
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(probe.status, probe.stderr).toBe(0);
    const frames = probe.stdout.trim().split('\n');
    expect(frames[0]).toMatch(/^1,I/);
    expect(frames.length).toBeGreaterThan(10);
    expect(decodeErrors(file)).toBe('');

    await viewer.stop();
    await keeper.stop();
  });

  it("gives a cold camera's first keyframe to its first viewer: the camera keeps it until its peer connects", async () => {
    const agentLog = captureLog('debug');
    const restarts = () =>
      agentLog.lines.filter((l) => l.msg === 'keyframe requested: restarting the encoder').length;
    await t.startCamera('cam2', { video: { keyframeIntervalSeconds: 20 }, log: agentLog.log });
    const viewer = new WhepClient(t.httpUrl, token);
    const received = recordVideo(viewer);
    expect((await viewer.play('cam2')).status).toBe(201);
    // The encoder starts with the answer; its first frame often comes before the camera's DTLS is up.
    await waitFor(() => viewer.stats.keyframes > 0 && received.length > 60, {
      timeoutMs: 20_000,
      what: 'a keyframe and more video at the viewer',
    });
    expect(isKeyframeStart('video/H264', received[0]!.payload)).toBe(true);
    // Had it been lost, the viewer would have waited for a keyframe request: an encoder restart.
    expect(restarts()).toBe(0);
    await viewer.stop();
  });
});
