import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

interface Listing {
  segments: Array<{ id: number; start: string; end: string | null; state: string }>;
  gaps: Array<{ start: string; end: string | null; reason: string }>;
}

/** The slice of the page the tests read (this project compiles without DOM types). */
interface PlaybackVideo {
  currentTime: number;
  src: string;
  dataset: { offset?: string; segmentId?: string };
  played: { length: number; start(index: number): number };
  error: { code: number; message: string } | null;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}
interface PageGlobals {
  localStorage: { setItem(key: string, value: string): void };
  document: { getElementById(id: string): PlaybackVideo | null };
}

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

describe.runIf(ready)('recordings in the web app: timeline, playback, export link, recording mode', () => {
  let rig: CameraRig;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let listing: Listing;

  beforeAll(async () => {
    rig = await startCameraRig({
      serveEnv: { LOOKOUT_RECORDING_SEGMENT_SECONDS: '5', LOOKOUT_TURN_MODE: 'off' },
      video: { width: 320, height: 180, bitrateKbps: 300, fps: 15, keyframeIntervalSeconds: 1 },
    });
    rig.startAgent();
    await rig.waitOnline();
    const update = await rig.cli(['device', 'update', 'cam1', '--record', 'continuous']);
    expect(update.code, update.stderr).toBe(0);
    chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await rig?.close();
  }, 60_000);

  const list = async (): Promise<Listing> => {
    const result = await rig.cli(['recordings', 'list', 'cam1', '--json', '--from', '-1h']);
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as Listing;
  };
  /** The recording policy as the CLI reads it from the data directory. */
  const cliRecording = async () => {
    const shown = await rig.cli(['device', 'show', 'cam1', '--json']);
    return (JSON.parse(shown.stdout) as { recording: { mode: string; active: boolean } }).recording;
  };
  /** The recording policy as the server reports it (quicker than starting the CLI). */
  const apiRecording = async () => {
    const res = await fetch(`${rig.base}/api/devices/cam1`, {
      headers: { authorization: `Bearer ${rig.token}` },
    });
    return ((await res.json()) as { recording: { mode: string; active: boolean } }).recording;
  };
  const video = () =>
    page.evaluate(() => {
      const v = (globalThis as unknown as PageGlobals).document.getElementById('playback');
      if (!v) return undefined;
      return {
        src: v.src,
        offset: Number(v.dataset.offset),
        segmentId: v.dataset.segmentId,
        time: v.currentTime,
        playedFrom: v.played.length > 0 ? v.played.start(0) : undefined,
        frames: v.getVideoPlaybackQuality().totalVideoFrames,
        error: v.error?.message,
      };
    });

  it('shows the recorded segments and gaps on a timeline and plays a clicked segment from there', async () => {
    listing = await waitFor(
      async () => {
        const l = await list();
        return l.segments.some((s) => s.state === 'complete') ? l : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, what: 'a finished segment' },
    );
    page = await chromium.browser.newPage();
    await page.goto(rig.base);
    // The one web test that uses an API token in localStorage (`lookout.token`), as kiosks and
    // scripted pages do, instead of signing in: media links then carry it as `access_token`.
    // Every other web test signs in through the form (test/helpers/sign-in.ts).
    await page.evaluate(
      (t) => (globalThis as unknown as PageGlobals).localStorage.setItem('lookout.token', t),
      rig.token,
    );
    await page.reload();
    await expect
      .poll(() => page.locator('td[data-recording-mode]').textContent(), { timeout: 10_000 })
      .toMatch(/^continuous · recording$/);
    await page.locator('button[data-recordings="cam1"]').click();
    await expect.poll(() => page.locator('#recordings').isVisible()).toBe(true);
    expect(await page.locator('#rec-camera').textContent()).toBe('Test pattern');
    expect(await page.locator('.zoom[aria-pressed="true"]').textContent()).toBe('hour');
    expect(await page.locator('#rec-mode').inputValue()).toBe('continuous');

    // Every segment the CLI lists as finished is drawn on the timeline.
    const complete = listing.segments.filter((s) => s.state === 'complete');
    const first = page.locator(`.timeline .segment[data-segment-id="${complete[0]!.id}"]`);
    await first.waitFor({ timeout: 10_000 });
    for (const s of complete)
      expect(
        await page.locator(`.timeline .segment[data-segment-id="${s.id}"]`).getAttribute('data-state'),
      ).toBe('complete');
    // Ten minutes across: a 5 s segment is some pixels wide.
    await page.locator('.zoom[data-zoom="10 min"]').click();
    await expect.poll(() => page.locator('#timeline').getAttribute('data-span')).toBe('600000');
    await expect.poll(async () => (await first.boundingBox())?.width ?? 0).toBeGreaterThan(4);
    const firstBox = (await first.boundingBox())!;
    const offline = listing.gaps.find((g) => g.reason === 'camera-offline');
    if (offline) {
      // The camera-offline gap before the first segment is drawn before it, titled with its reason.
      const gap = page.locator('.timeline .gap[data-reason="camera-offline"]').first();
      expect(await gap.getAttribute('title')).toMatch(/^camera offline: /);
      expect((await gap.boundingBox())!.x).toBeLessThanOrEqual(firstBox.x);
    }
    expect(await page.locator('#rec-status').textContent()).toMatch(/recorded segment/);

    // Click in the middle of the first segment: it plays from the clicked offset.
    await first.click({ position: { x: firstBox.width * 0.5, y: firstBox.height / 2 } });
    const playing = await waitFor(
      async () => {
        const v = await video();
        return v && v.time > Math.max(1, v.offset + 1) && v.frames > 5 ? v : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the clicked segment to play' },
    ).catch(async (err) => {
      throw new Error(`${err.message}: ${JSON.stringify(await video())}`);
    });
    expect(playing.error).toBeUndefined();
    expect(playing.segmentId).toBe(String(complete[0]!.id));
    expect(playing.src).toContain(`/api/devices/cam1/recordings/${complete[0]!.id}.mp4?access_token=`);
    expect(playing.src).toMatch(/#t=\d+\.\d\d$/);
    // It started at the clicked point of the 5 s segment (the media fragment #t= was honoured).
    expect(playing.offset).toBeGreaterThanOrEqual(0);
    expect(playing.offset).toBeLessThan(5);
    expect(Math.abs(playing.playedFrom! - playing.offset)).toBeLessThan(0.5);
    expect(await first.getAttribute('data-current')).toBe('true');
  }, 60_000);

  it('links the shown range as one MP4 export that the server delivers', async () => {
    const href = await page.locator('a#download').getAttribute('href');
    expect(href).toBeTruthy();
    const url = new URL(href!, rig.base);
    expect(url.pathname).toBe('/api/devices/cam1/export.mp4');
    const from = Date.parse(url.searchParams.get('from')!);
    const to = Date.parse(url.searchParams.get('to')!);
    // The default is the shown stretch of the hour view, up to now (the form has seconds precision).
    const shownFrom = Number(await page.locator('#timeline').getAttribute('data-from'));
    expect(Math.abs(from - shownFrom)).toBeLessThanOrEqual(2000);
    expect(Math.abs(to - Date.now())).toBeLessThan(60_000);
    expect(url.searchParams.get('access_token')).toBe(rig.token);
    expect(await page.locator('a#download').getAttribute('download')).not.toBeNull();

    // The token goes in the header here: the link's range is what is checked.
    url.searchParams.delete('access_token');
    const res = await fetch(url, { headers: { authorization: `Bearer ${rig.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="cam1-/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(4, 8).toString('latin1')).toBe('ftyp');
  }, 60_000);

  it('changes the recording mode from the panel: on-demand start/stop, then off', async () => {
    await page.locator('#rec-mode').selectOption('on-demand');
    await waitFor(async () => (await apiRecording()).mode === 'on-demand', {
      timeoutMs: 10_000,
      what: 'mode on-demand',
    });
    await expect.poll(() => page.locator('#rec-start').isEnabled()).toBe(true);
    await page.locator('#rec-start').click();
    await waitFor(async () => (await apiRecording()).active, {
      timeoutMs: 10_000,
      what: 'on-demand started',
    });
    await expect.poll(() => page.locator('#rec-stop').isEnabled()).toBe(true);
    expect(await page.locator('#rec-start').isEnabled()).toBe(false);
    await page.locator('#rec-stop').click();
    await waitFor(async () => !(await apiRecording()).active, {
      timeoutMs: 10_000,
      what: 'on-demand stopped',
    });

    await page.locator('#rec-mode').selectOption('off');
    await expect
      .poll(() => page.locator('#rec-status').textContent(), { timeout: 10_000 })
      .toBe('Recording is off.');
    expect(await cliRecording()).toMatchObject({ mode: 'off', active: false });
    await expect
      .poll(() => page.locator('td[data-recording-mode]').textContent(), { timeout: 10_000 })
      .toBe('off');
    expect(await page.locator('#rec-start').isEnabled()).toBe(false);
    expect(await page.locator('#rec-stop').isEnabled()).toBe(false);
  }, 60_000);

  it("says why an empty range does not play: the server's NO_RECORDINGS, not a media format error", async () => {
    // A minute a day ago, before this camera recorded anything (datetime-local: the page's local time).
    const local = (ms: number) => {
      const d = new Date(ms);
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    };
    const from = Date.now() - 86_400_000;
    await page.locator('#dl-from').fill(local(from));
    await page.locator('#dl-to').fill(local(from + 60_000));
    await page.locator('#dl-play').click();
    await expect
      .poll(() => page.locator('#playback-label').textContent(), { timeout: 10_000 })
      .toMatch(/^Cannot play this range: nothing is recorded between /);
  }, 60_000);

  it("shows the server's problem detail when a call fails", async () => {
    const res = await fetch(`${rig.base}/api/devices/cam1/recordings`, {
      headers: { authorization: 'Bearer lkt_not-a-token' },
    });
    expect(res.status).toBe(401);
    const { detail } = (await res.json()) as { detail: string };
    expect(detail).toBeTruthy();
    await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).localStorage.setItem('lookout.token', 'lkt_not-a-token'),
    );
    await page.locator('#rec-refresh').click();
    await expect
      .poll(() => page.locator('#rec-status').textContent(), { timeout: 10_000 })
      .toBe(`Cannot load recordings: ${detail}`);
  }, 60_000);
});
