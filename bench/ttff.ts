/**
 * Time to first frame: from the viewer's WHEP POST to the first decoded frame in headless
 * Chromium, warm (the camera already streams to another viewer) and cold (the camera is idle,
 * so the offer goes over MQTT and the agent starts its encoder). Each run is `tries` tries per case;
 * the figure is the median of the runs' medians. Run: npm run bench:ttff [-- --tries 10 --runs 3]
 */
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/helpers/browser.js';
import { startCameraRig } from '../test/helpers/camera-rig.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { WhepClient } from '../test/helpers/whep-client.js';
import { machine, median, percentile, writeSection } from './report.js';

const { values } = parseArgs({
  options: { tries: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' } },
});
const tries = Number(values.tries);
const runs = Number(values.runs);
const LINGER_MS = 500;

const rig = await startCameraRig({
  serveEnv: { LOOKOUT_MEDIA_LINGER_MS: String(LINGER_MS) },
  video: { width: 1280, height: 720, fps: 15, keyframeIntervalSeconds: 2 },
});
const { base, token } = rig;
rig.startAgent();
const chromium = await launchChromium();
const page = await chromium.browser.newPage();
await page.goto(`${base}/`);
await rig.waitOnline();

/** One try in the page: POST -> first decoded frame (requestVideoFrameCallback), in ms. */
async function tryOnce(): Promise<number> {
  return page.evaluate(
    async ({ token }) => {
      // Just what this snippet touches of the DOM (the project compiles without DOM types).
      type Video = {
        muted: boolean;
        autoplay: boolean;
        srcObject: unknown;
        remove(): void;
        requestVideoFrameCallback(cb: () => void): void;
      };
      type Peer = {
        addTransceiver(kind: string, init: object): void;
        ontrack: ((event: { track: unknown }) => void) | null;
        onicegatheringstatechange: (() => void) | null;
        iceGatheringState: string;
        localDescription: { sdp: string };
        createOffer(): Promise<object>;
        setLocalDescription(description: object): Promise<void>;
        setRemoteDescription(description: object): Promise<void>;
        close(): void;
      };
      const g = globalThis as unknown as {
        document: { createElement(tag: 'video'): Video; body: { append(el: unknown): void } };
        RTCPeerConnection: new () => Peer;
        MediaStream: new () => { addTrack(track: unknown): void };
      };
      const video = g.document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      g.document.body.append(video);
      const pc = new g.RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const stream = new g.MediaStream();
      pc.ontrack = (e) => {
        stream.addTrack(e.track);
        video.srcObject = stream;
      };
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
        setTimeout(resolve, 1000);
      });
      const started = performance.now();
      const res = await fetch('/whep/cam1', {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
        body: pc.localDescription.sdp,
      });
      if (res.status !== 201) throw new Error(`WHEP ${res.status}`);
      const location = res.headers.get('location');
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      const firstFrame = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no frame in 10 s')), 10_000);
        video.requestVideoFrameCallback(() => {
          clearTimeout(timer);
          resolve(performance.now());
        });
      });
      pc.close();
      video.remove();
      await fetch(location!, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      return firstFrame - started;
    },
    { token },
  );
}

async function series(kind: 'warm' | 'cold'): Promise<number[]> {
  const results: number[] = [];
  for (let i = 0; i < tries; i++) {
    if (kind === 'cold') {
      // Idle camera: wait until the linger has closed the previous session and the encoder stopped.
      await new Promise((r) => setTimeout(r, LINGER_MS + 1500));
    } else {
      await new Promise((r) => setTimeout(r, 300));
    }
    const ms = await tryOnce();
    results.push(ms);
    console.log(`${kind} ${i + 1}/${tries}: ${ms.toFixed(0)} ms`);
  }
  return results;
}

try {
  await tryOnce(); // warm-up: first peer connection in the browser, JIT
  const all: Record<'warm' | 'cold', number[][]> = { warm: [], cold: [] };
  for (let run = 1; run <= runs; run++) {
    console.log(`run ${run}/${runs}`);
    all.cold.push(await series('cold'));
    const keeper = new WhepClient(base, token);
    await keeper.play('cam1');
    await waitFor(() => keeper.stats.keyframes > 0, { timeoutMs: 10_000, what: 'warm camera' });
    all.warm.push(await series('warm'));
    await keeper.stop();
  }

  const row = (name: 'warm' | 'cold', target: number) => {
    const medians = all[name].map(median);
    const v = all[name].flat();
    const figure = median(medians);
    return `| ${name} | ${figure.toFixed(0)} ms | ${medians.map((m) => m.toFixed(0)).join(', ')} ms | ${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)} ms | ${percentile(v, 90).toFixed(0)} ms | <= ${target} ms | ${figure <= target ? 'met' : '**missed**'} |`;
  };
  const body = `## Time to first frame (\`npm run bench:ttff\`)

From the viewer's WHEP \`POST\` to the first decoded frame (\`requestVideoFrameCallback\`) in headless Chromium, on
loopback. Camera: \`lookout agent\` test source, 1280x720 at 15 fps, H.264 with a 2 s keyframe interval. ${runs} runs of
${tries} tries per case; the figure is the median of the runs' medians.
Warm: the camera already streams to another viewer. Cold: the camera is idle; the offer goes over MQTT and the agent
starts its encoder.

| Case | Median | Run medians | Range | p90 | Target | |
| --- | --- | --- | --- | --- | --- | --- |
${row('warm', 500)}
${row('cold', 1500)}

Machine: ${machine()}.`;
  writeSection('ttff', body);
  console.log(body);
} finally {
  await chromium.close();
  await rig.close();
}
