import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { SignalCamera } from '../helpers/signal-camera.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

// Issue 9 item 14: a camera whose answer has no a=ssrc (BUNDLE, and the server offers no MID
// header extension) must still get its media to viewers: RFC 8843 §9.2, routing by payload type.
describe('a camera that does not signal its SSRCs', () => {
  let t: TestServer;
  let token: string;
  const open: Array<{ close?: () => Promise<void>; stop?: () => Promise<void> }> = [];

  beforeAll(async () => {
    t = await startTestServer();
    token = (await t.server.registry.tokens.create('test')).token;
  });
  afterAll(async () => {
    for (const thing of open) await (thing.stop ?? thing.close)?.call(thing);
    await t?.close();
  });

  it('streams to a viewer: video (keyframe first) and audio arrive', async () => {
    const camera = await SignalCamera.connect(t, 'bare', await t.addDevice('bare'), { stripSsrc: true });
    open.push(camera);
    const viewer = new WhepClient(t.httpUrl, token);
    open.push(viewer);
    expect((await viewer.play('bare')).status).toBe(201);
    await waitFor(() => viewer.stats.keyframes > 0 && viewer.stats.video > 30 && viewer.stats.audio > 30, {
      timeoutMs: 15_000,
      what: 'video and audio from a camera without a=ssrc at the viewer',
    }).catch((err: Error) => {
      const sent = [...camera.sent.values()];
      throw new Error(`${err.message} (viewer ${JSON.stringify(viewer.stats)}, camera sent ${sent})`);
    });
    // The answer really had no SSRC lines (the test is about that case), and BUNDLE.
    expect(camera.answers).toHaveLength(1);
    expect(camera.answers[0]).not.toMatch(/a=ssrc/);
    expect(camera.answers[0]).toMatch(/a=group:BUNDLE/);
    expect(camera.answers[0]).not.toMatch(/a=extmap:/); // no MID header extension either
    expect(viewer.stats.videoCodec).toBe('video/H264');
    expect(viewer.stats.audioCodec).toBe('audio/opus');
  });
});
