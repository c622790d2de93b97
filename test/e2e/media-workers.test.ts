import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedFrames, launchChromium, openViewer } from '../helpers/browser.js';
import { decodeErrors } from '../helpers/media-probe.js';
import { isAlive } from '../helpers/processes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 10: cameras spread over two media worker processes, watched in Chromium and recorded
// from an RTP tap; then one worker is killed with SIGKILL while it serves a watched, recorded
// camera, and everything comes back by itself without leaking.

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);
const CAMERAS = ['cam1', 'cam2', 'cam3', 'cam4'];

/** Direct child processes of this process (workers, Chromium, ffmpeg wrappers). */
function children(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

describe.runIf(ready)('media workers: 2 workers, 4 cameras, Chromium and the recorder', () => {
  let t: TestServer;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let token: string;

  beforeAll(async () => {
    t = await startTestServer({
      'media.workers': 2,
      'recording.segmentSeconds': 5,
      'media.lingerMs': 2000,
      'media.viewerTimeoutMs': 4000,
    });
    token = (await t.server.registry.tokens.create('test')).token;
    for (const id of CAMERAS) await t.startCamera(id, { video: { fps: 15, keyframeIntervalSeconds: 1 } });
    chromium = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await t?.close();
  }, 60_000);

  const stats = () => t.server.media.stats();

  it('spreads the cameras over both workers; Chromium decodes each; the recorder records from the tap', {
    timeout: 120_000,
  }, async () => {
    expect(t.server.mediaWorkers).toBe(2);
    await t.server.registry.devices.setRecording('cam1', { mode: 'continuous' });
    t.server.recordings.refresh('cam1');
    page = await openViewer(chromium.browser, t.httpUrl, token, 'cam1');
    for (const id of CAMERAS.slice(1)) await page.locator(`button[data-device="${id}"]`).click();
    await waitFor(
      async () => (await Promise.all(CAMERAS.map((id) => decodedFrames(page, id)))).every((n) => n > 10),
      {
        timeoutMs: 60_000,
        what: 'frames decoded from all four cameras',
      },
    );
    const workers = await stats();
    expect(workers).toHaveLength(2);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    expect(workers.map((w) => w.pid)).not.toContain(process.pid);
    // Two cameras in each worker, each with its viewer.
    expect(workers.map((w) => w.cameras.length)).toEqual([2, 2]);
    expect(workers.flatMap((w) => w.cameras).every((c) => c.viewers === 1)).toBe(true);
    const store = t.server.registry.recordings;
    const segment = await waitFor(
      async () => (await store.between('cam1', 0, Date.now() + 1000)).find((s) => s.state === 'complete'),
      { what: 'a complete segment of cam1', timeoutMs: 60_000 },
    );
    expect(decodeErrors(path.join(t.dataDir, 'recordings', segment.path))).toBe('');
  });

  it('replaces a worker killed with SIGKILL: the picture and the recording come back, with a gap, and nothing leaks', {
    timeout: 150_000,
  }, async () => {
    const store = t.server.registry.recordings;
    const before = await stats();
    const slot = t.server.media.workerOf('cam1')!;
    const victim = before.find((w) => w.workerId === slot)!;
    const udp = (all: typeof before) =>
      all.reduce((n, w) => n + w.udpSockets, 0) +
      process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    const baseline = {
      fds: readdirSync('/proc/self/fd').length,
      udp: udp(before),
      children: children().length,
    };
    const framesBefore = await decodedFrames(page, 'cam1');
    const killedAt = Date.now();
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor(() => !isAlive(victim.pid!), { what: 'the worker gone' });

    // Replaced: two workers again, the new one in the dead one's slot.
    const replaced = await waitFor(
      async () => {
        const now = await stats();
        return now.length === 2 && now.every((w) => w.pid !== victim.pid) ? now : undefined;
      },
      { what: 'a replacement worker', timeoutMs: 30_000 },
    );
    expect(replaced.map((w) => w.workerId).sort()).toEqual([0, 1]);
    // The web app reconnects by itself (no reload): its player makes a new session and decodes.
    await waitFor(
      async () => {
        const frames = await decodedFrames(page, 'cam1');
        return frames > 20 && frames !== framesBefore;
      },
      { what: 'cam1 playing again in the same page', timeoutMs: 60_000 },
    );
    // The archive shows the pause with its reason, closed once recording resumed.
    const gap = await waitFor(
      async () =>
        (await store.gapsBetween('cam1', killedAt - 1000, Date.now() + 1000)).find(
          (g) => g.reason === 'media-worker-died' && g.endMs !== null,
        ),
      { what: 'a closed media-worker-died gap', timeoutMs: 60_000 },
    );
    expect(gap.startMs).toBeGreaterThanOrEqual(killedAt - 1000);
    await waitFor(
      async () =>
        (await store.between('cam1', gap.endMs!, Date.now() + 1000)).some((s) => s.state === 'complete'),
      { what: 'a complete segment after the gap', timeoutMs: 60_000 },
    );
    // Every camera decodes again, and what the process holds returns to its baseline.
    await waitFor(
      async () => (await Promise.all(CAMERAS.map((id) => decodedFrames(page, id)))).every((n) => n > 10),
      {
        timeoutMs: 60_000,
        what: 'all four cameras playing',
      },
    );
    let last = baseline;
    let after = before;
    const detail = (all: typeof before) =>
      JSON.stringify({
        main: process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length,
        workers: all.map((w) => ({ udp: w.udpSockets, cameras: w.cameras })),
      });
    await waitFor(
      async () => {
        after = await stats();
        last = {
          fds: readdirSync('/proc/self/fd').length,
          udp: udp(after),
          children: children().length,
        };
        // HTTP keep-alive sockets of the browser's new sessions may come and go: a little slack on fds.
        return last.udp <= baseline.udp && last.children <= baseline.children && last.fds <= baseline.fds + 4;
      },
      { what: 'resources back to their baseline', timeoutMs: 30_000 },
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}: baseline ${JSON.stringify(baseline)}, now ${JSON.stringify(last)}; ${detail(before)} -> ${detail(after)}`,
      );
    });
  });
});
