import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge-config/index.js';
import { decodedFrames, launchChromium } from '../helpers/browser.js';
import { CLI_RUN_MS } from '../helpers/cli.js';
import { type RunningProcess, startCli, startServe } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

/** The slice of the page this test reads (this project compiles without DOM types). */
interface PlaybackVideo {
  currentSrc: string;
  currentTime: number;
  duration: number;
  error: { message: string } | null;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}
interface PageGlobals {
  document: { getElementById(id: string): PlaybackVideo | null };
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Horizontal overflow, and serious or critical axe-core violations (as web-layout.test.ts checks every screen). */
async function screenProblems(page: Page): Promise<{ overflow: boolean; serious: string[] }> {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const g = globalThis as unknown as {
      innerWidth: number;
      document: { scrollingElement: { scrollWidth: number } | null };
      axe: {
        run(
          context: unknown,
          options: object,
        ): Promise<{ violations: Array<{ id: string; impact: string | null }> }>;
      };
    };
    const { violations } = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return {
      overflow: g.document.scrollingElement!.scrollWidth > g.innerWidth,
      serious: violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
    };
  });
}

/** A time as a `datetime-local` field takes it (the browser's zone: this machine's, as here). */
function local(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Issue 12's "Done when", as a new user would do it: start the server (`lookout serve` on a
 * fresh data directory, as `npm start` runs it), read its first-run output for how to create
 * the first admin, do that and sign in in the browser, add a camera there, download its edge
 * config, start `lookout agent --config <that file>` (the camera "flashed" with it), watch it in
 * the grid, set it to record continuously, see its segments on the review timeline, export a
 * minute and play the file. No CLI command, no registry access and no API call by the test:
 * the shell is used only to start the server and the agent.
 */
describe.runIf(ready)('the walkthrough of a new user (issue 12, Done when)', () => {
  const tmp = tempDir('lookout-walkthrough-');
  let serve: Awaited<ReturnType<typeof startServe>>;
  let agent: RunningProcess | undefined;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    // Embedded defaults, free ports (startServe binds loopback on port 0). One departure: 5 s
    // segments instead of 60 s, so the timeline has finished segments within seconds.
    serve = await startServe(path.join(tmp.dir, 'data'), { LOOKOUT_RECORDING_SEGMENT_SECONDS: '5' });
    base = `http://127.0.0.1:${serve.http}`;
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  }, 3 * CLI_RUN_MS);

  afterAll(async () => {
    await agent?.stop();
    await chromium?.close();
    await serve?.stop();
    tmp.remove();
  }, 60_000);

  it('first run: the output says how to make the first admin; the link does it in the browser', async () => {
    // What the terminal shows (here as JSON lines): one line about the first admin, with a link.
    const line = serve
      .logs()
      .split('\n')
      .find((l) => l.includes('no users yet'));
    expect(line, serve.logs()).toBeDefined();
    const said = String(JSON.parse(line!).msg);
    const link = /open (\S+) to create the first admin/.exec(said)?.[1];
    expect(link, said).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#setup=[\w-]+$/);
    expect(new URL(link!).port).toBe(String(serve.http));

    await page.goto(link!);
    await page.locator('#setup').waitFor();
    // The setup screen on a phone: nothing wider than 390 px, no serious axe-core violation.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await screenProblems(page)).toEqual({ overflow: false, serious: [] });
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(await screenProblems(page)).toEqual({ overflow: false, serious: [] });
    await page.locator('#setup-username').fill('admin');
    await page.locator('#setup-password').fill('a long admin password');
    await page.locator('#setup-again').fill('a long admin password');
    await page.locator('#setup-submit').click();
    await waitFor(async () => (await page.locator('#who').textContent()) === 'admin', {
      what: 'the first admin signed in',
      timeoutMs: 15_000,
    });
    expect(page.url()).toBe(`${base}/`); // the spent code is gone from the address bar
    // Signed out and in again with the password just chosen.
    await page.locator('#sign-out').click();
    await page.locator('#username').fill('admin');
    await page.locator('#password').fill('a long admin password');
    await page.locator('#sign-in').click();
    await waitFor(async () => (await page.locator('#who').textContent()) === 'admin', {
      what: 'signed in again',
      timeoutMs: 15_000,
    });
  }, 60_000);

  it(
    'adds a camera, downloads its file; an agent started with it is watched live in the grid',
    async () => {
      await page.locator('#add-id').fill('porch');
      await page.locator('#add-name').fill('Porch');
      await page.locator('#add-submit').click();
      await page.locator('#issued-config').waitFor();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#issued-download').click(),
      ]);
      const file = path.join(tmp.dir, download.suggestedFilename());
      await download.saveAs(file);
      expect(parseEdgeConfig(JSON.parse(readFileSync(file, 'utf8')))).toMatchObject({ deviceId: 'porch' });
      await page.locator('#issued-done').click();

      agent = startCli(['agent', '--config', file], { cwd: tmp.dir });
      const presence = page.locator('tr[data-device="porch"] [data-presence]');
      await waitFor(async () => (await presence.textContent()) === 'online', {
        what: 'porch online',
        timeoutMs: 4 * CLI_RUN_MS,
      }).catch((err: Error) => {
        throw new Error(`${err.message}; the agent said:\n${agent!.logs().slice(-3000)}`);
      });
      await page.locator('button[data-device="porch"]').click();
      await waitFor(async () => (await decodedFrames(page, 'porch')) > 20, {
        what: 'frames of porch in the grid',
        timeoutMs: 4 * CLI_RUN_MS,
      });
    },
    8 * CLI_RUN_MS + 30_000,
  );

  it('records continuously, shows the segments on the timeline, exports a minute and plays it', async () => {
    await page.locator('#manage-select').selectOption('porch');
    await page.locator('#manage-mode').selectOption('continuous');
    await waitFor(
      async () => (await page.locator('#manage-status').textContent()) === 'Recording continuous.',
      {
        what: 'recording set',
      },
    );
    await page.locator('button[data-recordings="porch"]').click();
    // The timeline follows now and asks again every 10 s: two finished segments appear.
    const finished = page.locator('.timeline .segment[data-state="complete"]');
    await waitFor(async () => (await finished.count()) >= 2, {
      what: 'two finished segments on the timeline',
      timeoutMs: 90_000,
      intervalMs: 500,
    });

    // "Review yesterday" cannot happen in a test's minutes: the last minute, which holds what
    // was recorded, is exported instead, as a user would pick yesterday's minute.
    const now = Date.now();
    await page.locator('#dl-from').fill(local(now - 60_000));
    await page.locator('#dl-to').fill(local(now));
    await page.locator('#dl-export').click();
    await waitFor(async () => /^Exported /.test((await page.locator('#dl-status').textContent()) ?? ''), {
      what: 'the export',
      timeoutMs: 60_000,
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await page.locator('#dl-status').textContent()}`);
    });
    await page.locator('#dl-play-file').click();
    const video = () =>
      page.evaluate(() => {
        const v = (globalThis as unknown as PageGlobals).document.getElementById('playback')!;
        return {
          src: v.currentSrc,
          time: v.currentTime,
          duration: v.duration,
          frames: v.getVideoPlaybackQuality().totalVideoFrames,
          error: v.error?.message,
        };
      });
    const played = await waitFor(
      async () => {
        const v = await video();
        return v.src.startsWith('blob:') && v.frames > 10 && v.time > 1 ? v : undefined;
      },
      { timeoutMs: 30_000, what: 'the exported file to play' },
    );
    expect(played.error).toBeUndefined();
    // At least the two finished 5 s segments seen on the timeline.
    expect(played.duration).toBeGreaterThan(8);
  }, 180_000);
});
