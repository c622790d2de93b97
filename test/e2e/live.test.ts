import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedFrames, launchChromium, openViewer as openWebViewer } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { CLI_RUN_MS } from '../helpers/cli.js';
import { childProcesses, isAlive, type RunningProcess, startCli } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

describe.runIf(ready)('live video end to end: lookout serve + lookout agent + Chromium over WHEP', () => {
  let rig: CameraRig;
  let agent: RunningProcess;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let token: string;
  let base: string;
  const pages: Page[] = [];

  beforeAll(async () => {
    rig = await startCameraRig({
      serveEnv: { LOOKOUT_MEDIA_LINGER_MS: '2000', LOOKOUT_MEDIA_VIEWER_TIMEOUT_MS: '4000' },
      // A small picture keeps CPU low on small CI machines.
      video: { width: 640, height: 360, bitrateKbps: 800 },
    });
    ({ base, token } = rig);
    expect((await rig.cli(['device', 'add', 'cam-off', '--name', 'Never connects'])).code).toBe(0);
    agent = rig.startAgent();
    chromium = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    const agentCode = await agent?.stop();
    const serveCode = await rig?.serve.stop();
    expect(agentCode).toBe(0);
    expect(serveCode).toBe(0);
    expect(rig.serve.logs()).not.toContain('handles still open');
    await rig?.close();
  }, 60_000);

  async function openViewer(deviceId: string): Promise<Page> {
    const page = await openWebViewer(chromium.browser, base, token, deviceId);
    pages.push(page);
    return page;
  }

  const frames = (page: Page, deviceId = 'cam1') => decodedFrames(page, deviceId);

  it('plays the camera in the web app: frames are decoded', async () => {
    await rig.waitOnline();
    const page = await openViewer('cam1');
    await waitFor(async () => (await frames(page)) > 20, { timeoutMs: 40_000, what: 'decoded frames' });
    expect(await page.locator('figure[data-device="cam1"] .state').textContent()).toMatch(/live/);
    // The server answered with RTX for the sent codec (RFC 4588), so retransmissions to the browser use it.
    const answer = await page.evaluate(
      () =>
        (
          globalThis as unknown as {
            lookout: { players: Map<string, { pc?: { remoteDescription: { sdp: string } } }> };
          }
        ).lookout.players.get('cam1')?.pc?.remoteDescription.sdp ?? '',
    );
    expect(answer).toMatch(/a=rtpmap:\d+ rtx\/90000/);
    expect(answer).toMatch(/a=ssrc-group:FID \d+ \d+/);
  });

  it('serves three viewers of one camera at once', { timeout: 90_000 }, async () => {
    const more = [await openViewer('cam1'), await openViewer('cam1')];
    const all = [pages[0]!, ...more];
    const before = await Promise.all(all.map((p) => frames(p)));
    await waitFor(
      async () => (await Promise.all(all.map((p) => frames(p)))).every((n, i) => n > before[i]! + 20),
      // Two more pages to load and three decoders beside the camera's encoder: slow under load.
      { timeoutMs: 60_000, what: 'three viewers decoding' },
    );
    for (const p of more) await p.close();
  });

  it('resumes the picture without a reload when the camera is killed and restarted', {
    timeout: 90_000,
  }, async () => {
    const page = pages[0]!;
    const encoders = childProcesses(agent.child.pid!, 'ffmpeg');
    expect(encoders.length).toBeGreaterThan(0);
    agent.child.kill('SIGKILL');
    await agent.stop();
    // The agent ran no cleanup, yet its ffmpeg must not outlive it.
    await waitFor(() => encoders.every((pid) => !isAlive(pid)), {
      what: "the killed agent's ffmpeg to end",
      timeoutMs: 15_000,
    });
    // The picture has stalled once the frame count stops moving (the decoder drained what it had).
    let stalled = -1;
    await waitFor(
      async () => {
        const before = await frames(page);
        await new Promise((r) => setTimeout(r, 500));
        stalled = await frames(page);
        return stalled === before;
      },
      { timeoutMs: 20_000, what: 'the picture to stall' },
    );
    agent = rig.startAgent();
    await waitFor(async () => (await frames(page)) > stalled + 20, {
      timeoutMs: 60_000,
      what: 'frames after the camera came back',
    });
  });

  it('plays in a third-party WHEP player (medooze whip-whep) given only the URL and a token', async () => {
    const page = await chromium.browser.newPage();
    pages.push(page);
    const whepJs = readFileSync(new URL('../../node_modules/whip-whep/whep.js', import.meta.url), 'utf8');
    await page.route('**/vendor/whep.js', (route) =>
      route.fulfill({ body: whepJs, contentType: 'text/javascript' }),
    );
    await page.goto(`${base}/`);
    // Load the player as a page module would (a dynamic import() here would be rewritten by the test runner).
    await page.addScriptTag({
      type: 'module',
      content: "import { WHEPClient } from '/vendor/whep.js'; globalThis.WHEPClient = WHEPClient;",
    });
    await page.waitForFunction(() => 'WHEPClient' in globalThis);
    await page.evaluate(
      async ({ url, token }) => {
        type Peer = {
          addTransceiver(kind: string, init: object): void;
          getStats(): Promise<Map<string, unknown>>;
        };
        const g = globalThis as unknown as {
          RTCPeerConnection: new () => Peer;
          thirdParty?: Peer;
          WHEPClient: new () => { view(pc: Peer, url: string, token: string): Promise<void> };
        };
        const { WHEPClient } = g;
        const pc = new g.RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'recvonly' });
        pc.addTransceiver('audio', { direction: 'recvonly' });
        await new WHEPClient().view(pc, url, token);
        g.thirdParty = pc;
      },
      { url: `${base}/whep/cam1`, token },
    );
    const decoded = () =>
      page.evaluate(async () => {
        const pc = (
          globalThis as unknown as {
            thirdParty: {
              getStats(): Promise<Map<string, { type: string; kind?: string; framesDecoded?: number }>>;
            };
          }
        ).thirdParty;
        let n = 0;
        (await pc.getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded ?? 0;
        });
        return n;
      });
    await waitFor(async () => (await decoded()) > 20, {
      timeoutMs: 40_000,
      what: 'frames in the third-party player',
    });
  });

  it('plays an H.264 high-profile camera (the viewer negotiated constrained baseline)', {
    timeout: 120_000,
  }, async () => {
    expect((await rig.cli(['device', 'add', 'cam-high', '--name', 'High profile'])).code).toBe(0);
    const file = path.join(rig.dir, 'cam-high.json');
    const edge = JSON.parse(readFileSync(file, 'utf8'));
    edge.stream.video = {
      ...edge.stream.video,
      width: 640,
      height: 360,
      bitrateKbps: 800,
      h264Profile: 'high',
    };
    writeFileSync(file, JSON.stringify(edge));
    const highAgent = startCli(['agent', '--config', file], { cwd: rig.dir });
    try {
      const page = await openViewer('cam-high');
      // A new agent process (node, tsx, ffmpeg) logs in first: several CLI starts' worth under load.
      await waitFor(async () => (await frames(page, 'cam-high')) > 20, {
        timeoutMs: 4 * CLI_RUN_MS,
        what: 'high-profile frames',
      });
      for (const button of await page.locator('figure .close').all()) await button.click();
    } finally {
      expect(await highAgent.stop()).toBe(0);
    }
  });

  it('tells the viewer an offline camera is offline', async () => {
    const res = await fetch(`${base}/whep/cam-off`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: 'v=0\r\n',
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ code: 'DEVICE_OFFLINE' });
    const page = await openViewer('cam-off');
    await waitFor(
      async () =>
        /camera offline/.test(
          (await page.locator('figure[data-device="cam-off"] .state').textContent()) ?? '',
        ),
      { what: 'offline state in the tile', timeoutMs: 20_000 },
    );
  });

  it('closes the camera session after the linger once nobody watches, and stops ffmpeg', {
    timeout: 90_000,
  }, async () => {
    expect(childProcesses(agent!.child.pid!, 'ffmpeg').length).toBeGreaterThan(0);
    // Close each player as a person would (the ✕ button sends the WHEP DELETE).
    for (const page of pages.splice(0)) {
      if (page.isClosed()) continue;
      for (const button of await page.locator('figure .close').all()) await button.click();
      await page.close();
    }
    // Two viewers were abandoned (tabs closed without DELETE): they time out, then the linger runs.
    await waitFor(() => agent!.logs().includes('"reason":"no-demand"'), {
      timeoutMs: 40_000,
      what: 'bye no-demand',
    });
    expect(rig.serve.logs()).toContain('viewer timed out (no RTCP)');
    await waitFor(() => childProcesses(agent!.child.pid!, 'ffmpeg').length === 0, {
      what: 'ffmpeg stopped',
      timeoutMs: 20_000,
    });
  });
});
