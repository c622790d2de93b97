import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraAgent } from '../../agent/index.js';
import { startAgent } from '../../agent/index.js';
import { silentLogger } from '../../core/log.js';
import { renderEdgeConfig } from '../../edge-config/index.js';
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
    const secret = t.addDevice('cam1');
    token = t.server.registry.tokens.create('test').token;
    const edge = renderEdgeConfig({
      deviceId: 'cam1',
      name: 'cam1',
      secret,
      mqttUrl: t.mqttUrl,
      topicPrefix: 'lookout',
    });
    edge.stream.video = { ...edge.stream.video, width: 320, height: 180, bitrateKbps: 300 };
    agent = await startAgent(edge, { source: 'test' }, silentLogger());
    await waitFor(() => t.server.media.isOnline('cam1'), { what: 'camera online' });
  });
  afterAll(async () => {
    await agent?.close();
    await t?.close();
  });

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
});
