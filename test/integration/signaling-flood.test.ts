import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { SignalCamera } from '../helpers/signal-camera.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

// Issue 9 item 1: one logged-in camera saying `hello` as fast as it can. Before, each hello
// built a new werift peer: 20,000 hellos meant thousands of UDP sockets, gigabytes of heap and
// another camera's viewer without RTP for 100 s. Now the media node takes a bounded number of
// messages per device before parsing them, acts on hellos at a bounded rate (merging the rest)
// and never builds a peer while one is being set up, so sockets and peers stay flat.

const HELLOS = 4000;

/**
 * The media plane's UDP sockets, heap and the noisy camera's peers, summed over its workers (the
 * camera lives in one of them; with \`media.workers: 0\`, in this process).
 */
async function mediaUsage(t: TestServer): Promise<{ udp: number; heap: number; peers: number }> {
  const workers = await t.server.media.stats();
  return {
    udp: workers.reduce((n, w) => n + w.udpSockets, 0),
    heap: workers.reduce((n, w) => n + w.heapUsedBytes, 0),
    peers: workers.flatMap((w) => w.cameras).find((c) => c.cameraId === 'noisy')?.upstreamPeers ?? 0,
  };
}

describe.each([
  ['default limits', {}],
  // With the per-device message limit lifted, the hello gate and coalescing alone must hold.
  [
    'the per-device message limit lifted',
    { 'media.deviceSignalRatePerSecond': 10_000, 'media.deviceSignalBurst': 100_000 },
  ],
])('a hello flood from one camera (%s)', (_name, overrides) => {
  let t: TestServer;
  let token: string;
  let steady: SignalCamera;
  let flooder: MqttClient;
  const flooderOffers: Array<{ session: string; at: number }> = [];
  const open: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];

  beforeAll(async () => {
    t = await startTestServer(overrides);
    token = (await t.server.registry.tokens.create('test')).token;
    steady = await SignalCamera.connect(t, 'steady', await t.addDevice('steady'));
    open.push(steady);
    const secret = await t.addDevice('noisy');
    flooder = await t.connect({ username: 'noisy', password: secret, clientId: 'noisy' });
    flooder.on('message', (_topic, payload) => {
      const message = JSON.parse(payload.toString()) as { type: string; session: string };
      if (message.type === 'offer') flooderOffers.push({ session: message.session, at: performance.now() });
    });
    await flooder.subscribeAsync('lookout/noisy/down/signal', { qos: 1 });
  });
  afterAll(async () => {
    for (const thing of open) await ('stop' in thing ? thing.stop() : thing.close());
    await t?.close();
  });

  it("keeps sockets and peers flat and another camera's viewer fed", async () => {
    // The steady camera streams to its viewer; someone also watches the noisy camera, so each
    // of its hellos would cost a session.
    const viewer = new WhepClient(t.httpUrl, token);
    open.push(viewer);
    expect((await viewer.play('steady')).status).toBe(201);
    await waitFor(() => viewer.stats.video > 30, { timeoutMs: 15_000, what: 'the steady camera streaming' });
    const watcher = new WhepClient(t.httpUrl, token);
    open.push(watcher);
    expect((await watcher.play('noisy')).status).toBe(201);
    await flooder.publishAsync('lookout/noisy/up/signal', JSON.stringify({ v: 1, type: 'hello' }), {
      qos: 1,
    });
    await waitFor(() => flooderOffers.length > 0, { what: 'a first offer to the noisy camera' });
    const baseline = await mediaUsage(t);
    let now = baseline;

    const seen = { udp: 0, peers: 0, heap: 0, longestViewerGapMs: 0 };
    let lastVideo = viewer.stats.video;
    let lastProgress = performance.now();
    let sampling = false;
    const sampler = setInterval(() => {
      const at = performance.now();
      if (viewer.stats.video > lastVideo) {
        lastVideo = viewer.stats.video;
        lastProgress = at;
      }
      seen.longestViewerGapMs = Math.max(seen.longestViewerGapMs, at - lastProgress);
      if (sampling) return;
      sampling = true;
      mediaUsage(t)
        .then((usage) => {
          now = usage;
          seen.udp = Math.max(seen.udp, usage.udp);
          seen.peers = Math.max(seen.peers, usage.peers);
          seen.heap = Math.max(seen.heap, usage.heap);
        })
        .catch(() => {})
        .finally(() => {
          sampling = false;
        });
    }, 25);

    try {
      const started = performance.now();
      const offersBefore = flooderOffers.length;
      const hello = JSON.stringify({ v: 1, type: 'hello', trickle: false });
      for (let i = 0; i < HELLOS; i++) {
        flooder.publish('lookout/noisy/up/signal', hello, { qos: 0 });
        if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
      }
      // QoS 1 after the QoS 0 flood: the broker has taken every message once this is acknowledged.
      await flooder.publishAsync('lookout/noisy/up/signal', hello, { qos: 1 });
      const floodEnded = performance.now();
      // The hellos over the limit were merged, not lost: a fresh offer follows the flood.
      await waitFor(() => flooderOffers.some((o) => o.at > floodEnded), {
        timeoutMs: 10_000,
        what: 'an offer after the flood',
      });
      // And everything returns to where it was: one peer for the noisy camera, no extra sockets.
      await waitFor(() => now.peers <= 1 && now.udp <= baseline.udp + 2, {
        timeoutMs: 15_000,
        what: `sockets back to baseline (${baseline.udp}, now ${now.udp})`,
      });
      const seconds = (performance.now() - started) / 1000;
      const offers = flooderOffers.length - offersBefore;

      expect(seen.peers, 'peer connections of the noisy camera (1 in use + 2 closing)').toBeLessThanOrEqual(
        3,
      );
      expect(seen.udp - baseline.udp, 'extra UDP sockets during the flood').toBeLessThanOrEqual(20);
      // Hellos acted on: a burst of 3, then one per 2 s (+1 for the merged one, +1 for slack).
      expect(offers, `offers in ${seconds.toFixed(1)} s`).toBeLessThanOrEqual(3 + Math.ceil(seconds / 2) + 2);
      expect(seen.heap - baseline.heap, 'heap growth').toBeLessThan(150 * 1024 * 1024);
      // Generous for a loaded 2-core machine; before, this viewer got nothing for 100 s.
      expect(seen.longestViewerGapMs, 'longest time without video at the other viewer').toBeLessThan(3000);
      expect(viewer.stats.video).toBeGreaterThan(lastVideo - 1);
    } finally {
      clearInterval(sampler);
    }
    await waitFor(() => viewer.stats.video > lastVideo + 15, { what: 'the steady viewer still fed' });
  });
});

describe('a flood of bad messages from one camera', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  it('is answered at most at the per-device rate (40 at once, then 20/s), the rest dropped unparsed', async () => {
    const client = await t.connect({
      username: 'junk',
      password: await t.addDevice('junk'),
      clientId: 'junk',
    });
    const errors: number[] = [];
    client.on('message', (_topic, payload) => {
      if ((JSON.parse(payload.toString()) as { type: string }).type === 'error')
        errors.push(performance.now());
    });
    await client.subscribeAsync('lookout/junk/down/signal', { qos: 1 });
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      client.publish('lookout/junk/up/signal', '{{{', { qos: 0 });
      if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
    }
    // A last bad message after the bucket has refilled is answered again: the flood has been consumed.
    await client.publishAsync('lookout/junk/up/signal', '{{{', { qos: 1 });
    const sentAll = performance.now();
    await waitFor(
      async () => {
        if (errors.some((at) => at > sentAll + 100)) return true;
        await client.publishAsync('lookout/junk/up/signal', '{{{', { qos: 1 });
        return false;
      },
      { intervalMs: 200, timeoutMs: 10_000, what: 'an answer after the flood' },
    );
    const seconds = (performance.now() - started) / 1000;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length, `error replies in ${seconds.toFixed(1)} s`).toBeLessThanOrEqual(
      40 + Math.ceil(seconds * 20) + 5,
    );
    await client.endAsync();
  });
});
