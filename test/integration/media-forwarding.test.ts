import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraAgent } from '../../agent/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

describe.runIf(hasFfmpeg)('media forwarding (in-process server and agent, werift viewers)', () => {
  let t: TestServer;
  let agent: CameraAgent;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer({ 'media.lingerMs': 1000 });
    token = (await t.server.registry.tokens.create('test')).token;
    agent = await t.startCamera('cam1');
  });
  afterAll(() => t?.close());

  it('gives each viewer its own stream: own SSRC, no camera header extensions, continuous sequence numbers, keyframe first', async () => {
    const viewers = [new WhepClient(t.httpUrl, token), new WhepClient(t.httpUrl, token)];
    const seen = viewers.map(() => ({
      ssrcs: new Set<number>(),
      extensions: 0,
      gaps: 0,
      last: -1,
      firstIsKey: undefined as boolean | undefined,
    }));
    viewers.forEach((viewer, i) => {
      viewer.pc.onTrack.subscribe((track) => {
        if (track.kind !== 'video') return;
        track.onReceiveRtp.subscribe((rtp) => {
          const s = seen[i]!;
          s.ssrcs.add(rtp.header.ssrc);
          s.extensions += rtp.header.extensions.length;
          if (s.last >= 0 && rtp.header.sequenceNumber !== ((s.last + 1) & 0xffff)) s.gaps++;
          s.last = rtp.header.sequenceNumber;
          s.firstIsKey ??= viewer.stats.keyframes > 0;
        });
      });
    });
    for (const viewer of viewers) expect((await viewer.play('cam1')).status).toBe(201);
    await waitFor(() => viewers.every((v) => v.stats.video > 100 && v.stats.audio > 20), {
      timeoutMs: 15_000,
      what: 'video and audio at both viewers',
    });
    const [a, b] = seen;
    expect(a!.ssrcs.size).toBe(1);
    expect(b!.ssrcs.size).toBe(1);
    expect([...a!.ssrcs][0]).not.toBe([...b!.ssrcs][0]);
    expect(a!.extensions + b!.extensions).toBe(0);
    expect(a!.firstIsKey && b!.firstIsKey).toBe(true);
    expect(a!.gaps + b!.gaps).toBeLessThanOrEqual(2); // loopback: reordering at most
    for (const viewer of viewers) await viewer.stop();
    // Linger (1 s) then bye: the agent stops streaming.
    await waitFor(() => !agent.streaming, { timeoutMs: 10_000, what: 'the camera session to close' });
  });

  it("forwards VP8 and G.711 (PCMU) without transcoding, and refuses a viewer without the camera's codec", async () => {
    const vp8Agent = await t.startCamera('cam-vp8', { video: { codec: 'vp8' }, audio: { codec: 'pcmu' } });
    try {
      // Offers H.264 first, like Chromium: the cold camera is assumed H.264 until it streams.
      const viewer = new WhepClient(t.httpUrl, token, {
        video: ['video/H264', 'video/VP8'],
        audio: ['audio/opus', 'audio/PCMU'],
      });
      // G.711 carries one byte per sample at 8 kHz: the timestamp advances by exactly the payload size.
      const audio: Array<{ ts: number; bytes: number }> = [];
      viewer.pc.onTrack.subscribe((track) => {
        if (track.kind === 'audio')
          track.onReceiveRtp.subscribe((rtp) =>
            audio.push({ ts: rtp.header.timestamp, bytes: rtp.payload.length }),
          );
      });
      expect((await viewer.play('cam-vp8')).status).toBe(201);
      await waitFor(() => viewer.stats.keyframes > 0 && viewer.stats.audio > 20, {
        timeoutMs: 15_000,
        what: 'VP8 keyframe and PCMU audio',
      });
      expect(viewer.stats.videoCodec).toBe('video/VP8');
      expect(viewer.stats.audioCodec).toBe('audio/PCMU');
      const last = audio.slice(-10);
      const steps = last.slice(1).map((p, i) => (p.ts - last[i]!.ts) >>> 0);
      const sizes = last.slice(0, -1).map((p) => p.bytes);
      // (An encoder restart for a keyframe may add one jump of real elapsed time.)
      expect(steps.filter((step, i) => step === sizes[i]).length).toBeGreaterThanOrEqual(7);
      // Now that the camera's codec is known, a viewer that cannot take VP8 is told so.
      const h264Only = new WhepClient(t.httpUrl, token, { video: ['video/H264'] });
      const refused = await h264Only.play('cam-vp8');
      const body = await refused.clone().text();
      expect(refused.status, body).toBe(400);
      expect(await refused.json()).toMatchObject({ code: 'NO_COMMON_CODEC' });
      await h264Only.stop();
      await viewer.stop();
    } finally {
      await vp8Agent.close();
    }
  });
});
