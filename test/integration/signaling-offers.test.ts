import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { SignalCamera } from '../helpers/signal-camera.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

// Issue 9 item 13: the server offers when the camera can receive it (docs/signaling.md §When
// the server offers): on its hello, or after media.helloGraceMs (2 s) without one.
describe('when the server offers', () => {
  let t: TestServer;
  let token: string;
  let secret: string;
  let camera: SignalCamera | undefined;
  let viewer: WhepClient;

  beforeAll(async () => {
    t = await startTestServer();
    token = (await t.server.registry.tokens.create('test')).token;
    secret = await t.addDevice('cam');
  });
  afterAll(async () => {
    await viewer?.stop();
    await camera?.close();
    await t?.close();
  });

  /** The viewer got new video after `mark` packets: the camera's current session works end to end. */
  const streamsAfter = (mark: number, what: string) =>
    waitFor(() => viewer.stats.video > mark + 15, { timeoutMs: 15_000, what });

  /** The camera drops its MQTT connection (the viewer stays and keeps the demand). */
  async function disconnect(): Promise<void> {
    await camera?.close();
    await waitFor(() => !t.server.media.isOnline('cam'), { what: 'cam offline' });
  }

  it('offers a camera that said hello once, when a viewer comes', async () => {
    camera = await SignalCamera.connect(t, 'cam', secret);
    viewer = new WhepClient(t.httpUrl, token);
    expect((await viewer.play('cam')).status).toBe(201);
    await streamsAfter(0, 'video at the viewer');
    expect(camera.offers()).toHaveLength(1);
  });

  it('sends one offer, on the hello, to a camera that comes online while video is wanted', async () => {
    await disconnect();
    const mark = viewer.stats.video;
    // The firmware takes 300 ms between SUBSCRIBE and hello: the offer must wait for the hello,
    // not go out when the camera comes online and again on its hello.
    camera = await SignalCamera.connect(t, 'cam', secret, { helloDelayMs: 300 });
    await streamsAfter(mark, 'video at the viewer after the camera reconnected');
    expect(camera.offers()).toHaveLength(1);
  });

  it('still offers a camera that never says hello and subscribes 300 ms late (after the grace)', async () => {
    await disconnect();
    const mark = viewer.stats.video;
    camera = await SignalCamera.connect(t, 'cam', secret, { hello: false, subscribeDelayMs: 300 });
    // Before: the offer went out before the SUBSCRIBE and the camera waited 10 s + 1 s for the retry.
    await waitFor(() => camera!.offers().length > 0, { timeoutMs: 8000, what: 'an offer' });
    await streamsAfter(mark, 'video at the viewer from the camera without hello');
    expect(camera.offers()).toHaveLength(1);
  });

  it('answers a hello after the offer with a fresh offer (newest wins), and the new session streams', async () => {
    const first = camera!.offers()[0]!.session;
    await camera!.hello();
    const fresh = await waitFor(() => camera!.offers().find((o) => o.session !== first), {
      what: 'a fresh offer after hello',
    });
    expect(camera!.received).toContainEqual(
      expect.objectContaining({ type: 'offer', session: fresh.session }),
    );
    await waitFor(() => (camera!.sent.get(fresh.session!) ?? 0) > 30, {
      timeoutMs: 15_000,
      what: 'new session up',
    });
    await streamsAfter(viewer.stats.video, 'video at the viewer in the new session');
  });
});

describe('a hello said before anyone watched', () => {
  let t: TestServer;
  let camera: SignalCamera | undefined;
  let viewer: WhepClient | undefined;

  // A grace far longer than the waits below: an offer can only come from the remembered hello.
  beforeAll(async () => {
    t = await startTestServer({ 'media.helloGraceMs': 60_000 });
  });
  afterAll(async () => {
    await viewer?.stop();
    await camera?.close();
    await t?.close();
  });

  it('is remembered: the first viewer gets the camera offered at once', async () => {
    camera = await SignalCamera.connect(t, 'early', await t.addDevice('early'));
    await waitFor(() => t.server.media.isOnline('early'), { what: 'early online' });
    viewer = new WhepClient(t.httpUrl, (await t.server.registry.tokens.create('test')).token);
    expect((await viewer.play('early')).status).toBe(201);
    await waitFor(() => viewer!.stats.video > 15, { timeoutMs: 15_000, what: 'video at the viewer' });
    expect(camera.offers()).toHaveLength(1);
  });
});
