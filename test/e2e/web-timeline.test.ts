import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import type { RunningProcess } from '../helpers/processes.js';
import { addAdminWithCli, signInAsAdmin } from '../helpers/sign-in.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

interface Segment {
  id: number;
  start: string;
  end: string | null;
  state: string;
}
interface Listing {
  segments: Segment[];
  gaps: Array<{ start: string; end: string | null; reason: string }>;
}

/** The slice of the page the tests read (this project compiles without DOM types). */
interface PlaybackVideo {
  currentTime: number;
  duration: number;
  currentSrc: string;
  dataset: { segmentId?: string; gapsSkipped?: string };
  error: { message: string } | null;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}
interface PageGlobals {
  document: {
    getElementById(id: string): (PlaybackVideo & { textContent: string }) | null;
    querySelectorAll(selector: string): ArrayLike<{ naturalWidth: number; complete: boolean }>;
  };
  MutationObserver: new (callback: () => void) => { observe(node: unknown, options: object): void };
  seenStatus?: string[];
  videoEvents?: string[];
}

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeResult {
  violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown[] }> }>;
}

/** Serious or critical axe-core violations on the page (as in web-layout.test.ts). */
async function axeSerious(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const { violations } = await page.evaluate(() => {
    const g = globalThis as unknown as {
      axe: { run(context: unknown, options: object): Promise<AxeResult> };
      document: unknown;
    };
    return g.axe.run(g.document, { resultTypes: ['violations'] });
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * The review timeline against a real server, agent and ffmpeg: two consecutive segments, a
 * camera-offline gap (the agent stopped and started again), and the segments after it.
 */
describe.runIf(ready)(
  'review timeline: scrub across segments and a gap, play through, export a picked range',
  () => {
    let rig: CameraRig;
    let agent: RunningProcess;
    let chromium: Awaited<ReturnType<typeof launchChromium>>;
    let page: Page;
    /** Two touching segments before the gap, one after it. */
    let before: [Segment, Segment];
    let after: Segment;

    const list = async (): Promise<Listing> => {
      const res = await fetch(`${rig.base}/api/devices/cam1/recordings?from=-1h`, {
        headers: { authorization: `Bearer ${rig.token}` },
      });
      return (await res.json()) as Listing;
    };
    const complete = (l: Listing) => l.segments.filter((s) => s.state === 'complete');

    beforeAll(async () => {
      rig = await startCameraRig({
        serveEnv: { LOOKOUT_RECORDING_SEGMENT_SECONDS: '5', LOOKOUT_TURN_MODE: 'off' },
        video: { width: 320, height: 180, bitrateKbps: 300, fps: 15, keyframeIntervalSeconds: 1 },
      });
      agent = rig.startAgent();
      await rig.waitOnline();
      const update = await rig.cli(['device', 'update', 'cam1', '--record', 'continuous']);
      expect(update.code, update.stderr).toBe(0);
      // Two finished segments, the second starting where the first ended.
      const pair = await waitFor(
        async () => {
          const done = complete(await list());
          for (let i = 1; i < done.length; i++)
            if (Math.abs(Date.parse(done[i]!.start) - Date.parse(done[i - 1]!.end!)) < 1000)
              return [done[i - 1]!, done[i]!] as [Segment, Segment];
          return undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'two consecutive finished segments' },
      );
      // The camera goes away: its segment ends and a camera-offline gap opens (at the moment the
      // stream ended, which may be a little before the segment's media end); then it returns.
      await agent.stop();
      const gap = await waitFor(
        async () =>
          (await list()).gaps.find(
            (g) => g.reason === 'camera-offline' && Date.parse(g.start) > Date.parse(pair[1].start),
          ),
        { timeoutMs: 30_000, intervalMs: 500, what: 'a camera-offline gap' },
      ).catch(async (err: Error) => {
        throw new Error(`${err.message} after ${JSON.stringify(pair)}: ${JSON.stringify(await list())}`);
      });
      agent = rig.startAgent();
      after = await waitFor(
        async () => complete(await list()).find((s) => Date.parse(s.start) >= Date.parse(gap.start) + 1000),
        { timeoutMs: 60_000, intervalMs: 500, what: 'a finished segment after the gap' },
      );
      // The segments between the pair and the gap belong to "before" too: take the last two.
      const beforeGap = complete(await list()).filter(
        (s) => Date.parse(s.end!) <= Date.parse(gap.start) + 1000,
      );
      before = [beforeGap.at(-2)!, beforeGap.at(-1)!];
      expect(Math.abs(Date.parse(before[1].start) - Date.parse(before[0].end!))).toBeLessThan(1000);
      await addAdminWithCli(rig.cli);
      chromium = await launchChromium();
    }, 240_000);

    afterAll(async () => {
      await chromium?.close();
      await rig?.close();
    }, 60_000);

    const video = () =>
      page.evaluate(() => {
        const v = (globalThis as unknown as PageGlobals).document.getElementById('playback')!;
        return {
          src: v.currentSrc,
          segmentId: v.dataset.segmentId,
          gapsSkipped: Number(v.dataset.gapsSkipped ?? 0),
          time: v.currentTime,
          duration: v.duration,
          frames: v.getVideoPlaybackQuality().totalVideoFrames,
          error: v.error?.message,
        };
      });
    /** The x coordinate of a moment on the bar (from the bar's own view attributes). */
    const xOf = async (ms: number) => {
      const bar = page.locator('#timeline');
      const box = (await bar.boundingBox())!;
      const from = Number(await bar.getAttribute('data-from'));
      const span = Number(await bar.getAttribute('data-span'));
      return { x: box.x + ((ms - from) / span) * box.width, y: box.y + box.height / 2 };
    };
    const mid = (s: Segment) => (Date.parse(s.start) + Date.parse(s.end!)) / 2;

    it('opens at an hour, zooms by button, key and Ctrl+wheel, and shows thumbnails', async () => {
      page = await chromium.browser.newPage();
      await page.goto(rig.base);
      await signInAsAdmin(page, rig.base);
      await page.locator('button[data-recordings="cam1"]').click();
      const pressed = page.locator('.zoom[aria-pressed="true"]');
      const trail: string[] = [];
      const note = async (step: string) => {
        const bar = page.locator('#timeline');
        const from = Number(await bar.getAttribute('data-from'));
        const span = Number(await bar.getAttribute('data-span'));
        trail.push(
          `${step}: ${new Date(from).toISOString()} +${span / 60_000} min at ${new Date().toISOString()}`,
        );
      };
      await expect.poll(() => pressed.textContent()).toBe('hour');
      await note('open');
      await page.locator('.zoom[data-zoom="week"]').click();
      await expect
        .poll(() => page.locator('#timeline').getAttribute('data-span'))
        .toBe(String(7 * 86_400_000));
      // Keyboard: + narrows (week → day), - widens again.
      await page.locator('#timeline').focus();
      await page.keyboard.press('+');
      await expect.poll(() => pressed.textContent()).toBe('day');
      await note('+');
      await page.keyboard.press('-');
      await expect.poll(() => pressed.textContent()).toBe('week');
      await note('-');
      // Ctrl+wheel (a trackpad pinch) zooms in at the pointer.
      const { x, y } = await xOf(mid(after));
      await page.mouse.move(x, y);
      await page.keyboard.down('Control');
      await page.mouse.wheel(0, -100);
      await page.keyboard.up('Control');
      await expect.poll(() => pressed.textContent()).toBe('day');
      await note(`wheel at ${new Date(mid(after)).toISOString()}`);
      await page.locator('.zoom[data-zoom="10 min"]').click();
      await expect.poll(() => page.locator('#timeline').getAttribute('data-span')).toBe('600000');
      // A pixel was minutes wide at a week: the wheel's day may end before now. Later, until now.
      for (let i = 0; i < 3; i++) await page.locator('#rec-later').click();
      await expect
        .poll(async () => Number(await page.locator('#timeline').getAttribute('data-from')) + 600_000)
        .toBeGreaterThan(Date.parse(after.end!));
      await note('10 min, later');
      // The gap is drawn and labelled by its reason.
      const gap = page.locator('.timeline .gap[data-reason="camera-offline"]').last();
      const title = await gap.getAttribute('title', { timeout: 15_000 }).catch(async (err: Error) => {
        const bar = page.locator('#timeline');
        const state = {
          status: await page.locator('#rec-status').textContent(),
          from: new Date(Number(await bar.getAttribute('data-from'))).toISOString(),
          span: await bar.getAttribute('data-span'),
          segments: await page.locator('.timeline .segment').count(),
          gaps: await page.locator('.timeline .gap').count(),
          now: new Date().toISOString(),
          after,
          trail,
        };
        throw new Error(`${err.message}: ${JSON.stringify(state)}`);
      });
      expect(title).toMatch(/^camera offline: /);
      // Thumbnails along the bar: real JPEGs of the segments, 160 px wide.
      await expect
        .poll(
          () =>
            page.evaluate(
              () =>
                Array.from(
                  (globalThis as unknown as PageGlobals).document.querySelectorAll('.thumbs img'),
                ).filter((img) => img.complete && img.naturalWidth === 160).length,
            ),
          { timeout: 30_000 },
        )
        .toBeGreaterThan(1);
    }, 90_000);

    it('scrubs by dragging across two segments and over a gap to the segment after it', async () => {
      const start = await xOf(mid(before[0]));
      await page.mouse.move(start.x, start.y);
      await page.mouse.down();
      await expect
        .poll(async () => (await video()).segmentId, { timeout: 10_000 })
        .toBe(String(before[0].id));
      // Across the boundary into the next segment.
      const next = await xOf(mid(before[1]));
      await page.mouse.move(next.x, next.y, { steps: 4 });
      await expect
        .poll(async () => (await video()).segmentId, { timeout: 10_000 })
        .toBe(String(before[1].id));
      // Into the gap: playback goes on at the first segment after it, and says a gap was skipped.
      const gapEnd = Date.parse(after.start) - 1;
      const inGap = await xOf((Date.parse(before[1].end!) + gapEnd) / 2);
      await page.mouse.move(inGap.x, inGap.y, { steps: 4 });
      await page.mouse.up();
      const segmentAfterGap = await waitFor(
        async () => {
          const v = await video();
          return v.segmentId && v.segmentId !== String(before[1].id) ? v : undefined;
        },
        { timeoutMs: 10_000, what: 'playback after the gap' },
      );
      expect(Number(segmentAfterGap.segmentId)).toBeGreaterThan(before[1].id);
      expect(await page.locator('#playback-label').textContent()).toMatch(
        /^Skipped a ([\d.]+ s|\d+ min \d+ s) gap \(camera offline\)\. /,
      );
      await waitFor(async () => (await video()).frames > 3, {
        timeoutMs: 20_000,
        what: 'frames after the gap',
      });
      expect((await video()).error).toBeUndefined();
    }, 60_000);

    it('plays on by itself through consecutive segments and over the gap, at 4x', async () => {
      await page.locator('#rec-speed').selectOption('4');
      // The player's events, for the failure message: where playback stopped, and why.
      await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        const v = g.document.getElementById('playback') as unknown as PlaybackVideo & {
          addEventListener(type: string, listener: () => void): void;
          buffered: { length: number; end(i: number): number };
          networkState: number;
          readyState: number;
        };
        g.videoEvents = [];
        const types = [
          'loadstart',
          'loadedmetadata',
          'playing',
          'waiting',
          'stalled',
          'suspend',
          'ended',
          'pause',
        ];
        for (const type of [...types, 'error', 'emptied'])
          v.addEventListener(type, () => {
            const buffered = v.buffered.length ? v.buffered.end(v.buffered.length - 1).toFixed(2) : '-';
            g.videoEvents!.push(
              `${type} seg=${v.dataset.segmentId} t=${v.currentTime.toFixed(2)}/${v.duration.toFixed(2)} buf=${buffered} net=${v.networkState} ready=${v.readyState}`,
            );
          });
      });
      const events = () =>
        page.evaluate(() => (globalThis as unknown as PageGlobals).videoEvents!.join('\n'));
      // Click late in the first of the pair: it ends, the second follows, then the one after the gap.
      const late = await xOf(Date.parse(before[0].end!) - 800);
      await page.mouse.click(late.x, late.y);
      await expect
        .poll(async () => (await video()).segmentId, { timeout: 10_000 })
        .toBe(String(before[0].id));
      const skipped = (await video()).gapsSkipped;
      // Generous: on a loaded CI machine Chromium's playback (and each next segment's load) runs slow.
      await expect
        .poll(async () => (await video()).segmentId, { timeout: 60_000 })
        .toBe(String(before[1].id));
      await expect
        .poll(async () => (await video()).gapsSkipped, { timeout: 60_000 })
        .toBe(skipped + 1)
        .catch(async (err: Error) => {
          const label = await page.locator('#playback-label').textContent();
          throw new Error(
            `${err.message}\nsegments ${JSON.stringify(before)} then ${JSON.stringify(after)}\nlabel: ${label}\nvideo: ${JSON.stringify(await video())}\n${await events()}`,
          );
        });
      const v = await video();
      expect(Number(v.segmentId)).toBeGreaterThan(before[1].id);
      expect(
        await page.evaluate(
          () =>
            (
              globalThis as unknown as { document: { getElementById(id: string): { playbackRate: number } } }
            ).document.getElementById('playback')!.playbackRate,
        ),
      ).toBe(4);
      await page.locator('#rec-speed').selectOption('1');
    }, 150_000);

    it('exports a range picked by shift-drag, with progress, and plays the file', async () => {
      await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        g.seenStatus = [];
        const status = g.document.getElementById('dl-status')!;
        new g.MutationObserver(() => g.seenStatus!.push(status.textContent)).observe(status, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      const from = await xOf(Date.parse(before[0].start) + 200);
      const to = await xOf(Date.parse(after.end!) - 200);
      await page.keyboard.down('Shift');
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(to.x, to.y, { steps: 5 });
      await page.mouse.up();
      await page.keyboard.up('Shift');
      await expect.poll(() => page.locator('.timeline .picked').count()).toBe(1);
      const fromField = Date.parse(await page.locator('#dl-from').inputValue());
      expect(Math.abs(fromField - Date.parse(before[0].start))).toBeLessThan(3000);

      await page.locator('#dl-export').click();
      await expect
        .poll(() => page.locator('#dl-status').textContent(), { timeout: 60_000 })
        .toMatch(/^Exported /);
      const seen = await page.evaluate(() => (globalThis as unknown as PageGlobals).seenStatus!);
      expect(seen).toContain('Preparing the file on the server…');
      expect(seen.some((s) => /^Downloading [\d.]+ MB of [\d.]+ MB…$/.test(s))).toBe(true);
      expect(await page.locator('#dl-save').getAttribute('download')).toMatch(/^cam1-\d{8}T\d{6}Z\.mp4$/);

      await page.locator('#dl-play-file').click();
      const played = await waitFor(
        async () => {
          const v = await video();
          return v.src.startsWith('blob:') && v.frames > 10 && v.time > 1 ? v : undefined;
        },
        { timeoutMs: 20_000, what: 'the exported file to play' },
      );
      expect(played.error).toBeUndefined();
      // It holds the three segments (the gap is not in the file): at least their recorded time.
      const recordedS = [...before, after].reduce(
        (sum, s) => sum + (Date.parse(s.end!) - Date.parse(s.start)) / 1000,
        0,
      );
      expect(played.duration).toBeGreaterThan(recordedS - 2);
    }, 90_000);

    it('says why an empty range cannot be exported (NO_RECORDINGS)', async () => {
      const local = (ms: number) => {
        const d = new Date(ms);
        const pad = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      };
      const from = Date.now() - 86_400_000;
      await page.locator('#dl-from').fill(local(from));
      await page.locator('#dl-to').fill(local(from + 60_000));
      await page.locator('#dl-export').click();
      await expect
        .poll(() => page.locator('#dl-status').textContent(), { timeout: 10_000 })
        .toMatch(/^Cannot export this range: nothing is recorded between /);
      expect(await page.locator('#dl-play-file').count()).toBe(0);
    }, 30_000);

    it('jumps to now: the latest recording plays, the view ends at now', async () => {
      await page.locator('.zoom[data-zoom="day"]').click();
      await page.locator('#rec-earlier').click();
      await page.locator('#rec-now').click();
      const latest = complete(await list()).at(-1)!;
      await expect
        .poll(async () => Number((await video()).segmentId), { timeout: 15_000 })
        .toBeGreaterThanOrEqual(latest.id);
      const from = Number(await page.locator('#timeline').getAttribute('data-from'));
      const span = Number(await page.locator('#timeline').getAttribute('data-span'));
      expect(Math.abs(from + span - Date.now())).toBeLessThan(span * 0.1);
    }, 30_000);

    it('fits 390 px: no sideways scrolling, the timeline still scrubs by keyboard; axe-clean at both sizes', async () => {
      // The full timeline: segments, a gap, thumbnails, the playhead and a picked range.
      expect(await page.locator('.timeline .playhead').count()).toBe(1);
      expect(await axeSerious(page), 'desktop').toEqual([]);
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => {
        const root = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document.documentElement;
        return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
      });
      expect(overflow.scrollWidth).toBeLessThanOrEqual(overflow.clientWidth);
      await page.locator('#timeline').focus();
      const before = Number(await page.locator('#timeline').getAttribute('aria-valuenow'));
      await page.keyboard.press('ArrowLeft');
      await expect
        .poll(async () => Number(await page.locator('#timeline').getAttribute('aria-valuenow')))
        .not.toBe(before);
      expect(await axeSerious(page), '390 px').toEqual([]);
    }, 30_000);

    it('zooms in with a two-finger pinch on the bar (touch)', async () => {
      await page.locator('.zoom[data-zoom="hour"]').click();
      await expect.poll(() => page.locator('#timeline').getAttribute('data-span')).toBe('3600000');
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
      const box = (await page.locator('#timeline').boundingBox())!;
      const middle = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      const fingers = (apart: number) => [
        { x: middle - apart, y, id: 1 },
        { x: middle + apart, y, id: 2 },
      ];
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: fingers(15) });
      for (const apart of [25, 40, 60, 90, 120])
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: fingers(apart) });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      // Spread eight times wider: at least two levels in (an hour → a minute).
      await expect
        .poll(() => page.locator('.zoom[aria-pressed="true"]').textContent(), { timeout: 10_000 })
        .toBe('minute');
      await cdp.detach();
    }, 30_000);
  },
);
