import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { renderSVG } from 'uqr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge-config/index.js';
import { decodedFrames, launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { CLI_RUN_MS } from '../helpers/cli.js';
import { type RunningProcess, startCli } from '../helpers/processes.js';
import { addAdminWithCli, signInAsAdmin } from '../helpers/sign-in.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface PageGlobals {
  innerWidth: number;
  document: { scrollingElement: { scrollWidth: number } | null };
  axe: {
    run(
      context: unknown,
      options: object,
    ): Promise<{ violations: Array<{ id: string; impact: string | null }> }>;
  };
}

// Issue 12 item 2, as a new user would: add a camera in the browser, download its edge config,
// start `lookout agent --config <that file>`, and watch it live in the grid. Then rotate it,
// delete it from the dialog, all in the page.
describe.runIf(ready)('device management in the web app (lookout serve + Chromium + lookout agent)', () => {
  let rig: CameraRig;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let agent: RunningProcess | undefined;

  beforeAll(async () => {
    rig = await startCameraRig();
    await addAdminWithCli(rig.cli);
    chromium = await launchChromium();
    page = await chromium.browser.newPage({ acceptDownloads: true, viewport: { width: 390, height: 844 } });
    await page.goto(rig.base);
    await signInAsAdmin(page, rig.base);
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await chromium?.close();
    await rig?.close();
  }, 60_000);

  /** At 390 px: nothing wider than the screen, no serious axe-core violation. */
  const checkScreen = async (screen: string) => {
    const { scrollWidth, innerWidth } = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { scrollWidth: g.document.scrollingElement!.scrollWidth, innerWidth: g.innerWidth };
    });
    expect(scrollWidth, `${screen}: page width`).toBeLessThanOrEqual(innerWidth);
    await page.addScriptTag({ path: AXE });
    const { violations } = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).axe.run(
        (globalThis as unknown as { document: unknown }).document,
        {
          resultTypes: ['violations'],
        },
      ),
    );
    const serious = violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id);
    expect(serious, screen).toEqual([]);
  };

  const presence = (id: string) => page.locator(`tr[data-device="${id}"] [data-presence]`).textContent();

  it('adds a camera, downloads its edge config; an agent started with that file goes live in the grid', {
    timeout: 8 * CLI_RUN_MS + 60_000,
  }, async () => {
    await page.locator('#add-id').fill('porch');
    await page.locator('#add-name').fill('Porch');
    await page.locator('#add-mode').selectOption('off');
    await page.locator('#add-submit').click();
    await page.locator('#issued-config').waitFor();
    await checkScreen('the edge config shown once');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#issued-download').click(),
    ]);
    expect(download.suggestedFilename()).toBe('porch.json');
    const file = path.join(rig.dir, 'porch.json');
    await download.saveAs(file);
    const edge = parseEdgeConfig(JSON.parse(readFileSync(file, 'utf8')));
    expect(edge).toMatchObject({ deviceId: 'porch', name: 'Porch', mqtt: { username: 'porch' } });
    expect(statSync(file).size).toBeGreaterThan(0);
    // The same config is on the page, for copying, and in its QR code (the JSON without white space).
    expect(JSON.parse((await page.locator('#issued-json').textContent()) ?? '')).toEqual(edge);
    const compact = JSON.stringify(JSON.parse(readFileSync(file, 'utf8')));
    // Both serialized by the browser (it rewrites attributes' quoting and empty elements).
    const expected = await page.evaluate(
      (svg) => {
        type Doc = { createElement(tag: string): { innerHTML: string } };
        const box = (globalThis as unknown as { document: Doc }).document.createElement('div');
        box.innerHTML = svg;
        return box.innerHTML;
      },
      renderSVG(compact, { ecc: 'L', border: 2 }),
    );
    expect(await page.locator('#issued-qr').innerHTML()).toBe(expected);
    expect(await page.locator('#issued-qr svg').isVisible()).toBe(true);
    await page.locator('#issued-done').click();
    await waitFor(async () => (await page.locator('#issued-config').count()) === 0, {
      what: 'config closed',
    });

    // The new camera is listed (offline), and comes online once its agent runs with the downloaded file.
    await waitFor(async () => (await presence('porch')) === 'offline', {
      what: 'porch listed',
      timeoutMs: 15_000,
    });
    agent = startCli(['agent', '--config', file], { cwd: rig.dir });
    await waitFor(async () => (await presence('porch')) === 'online', {
      what: 'porch online in the list',
      timeoutMs: 4 * CLI_RUN_MS,
    });
    await page.locator('button[data-device="porch"]').click();
    await waitFor(async () => (await decodedFrames(page, 'porch')) > 20, {
      what: 'frames of porch in the grid',
      timeoutMs: 4 * CLI_RUN_MS,
    });
    // The tile's state follows its player's events, a moment after the frames.
    await waitFor(
      async () => /live/.test((await page.locator('figure[data-device="porch"] .state').textContent()) ?? ''),
      {
        what: 'porch shown live',
        timeoutMs: 30_000,
      },
    );
  });

  it('renames, rotates (the running agent is refused) and deletes from the dialog with the keyboard', {
    timeout: 60_000,
  }, async () => {
    await page.locator('#manage-select').selectOption('porch');
    await page.locator('#manage-name').fill('Front porch');
    await page.locator('#manage-rename').click();
    await waitFor(
      async () => (await page.locator('tr[data-device="porch"] td').first().textContent()) === 'Front porch',
      {
        what: 'renamed in the list',
        timeoutMs: 15_000,
      },
    );

    await page.locator('#manage-rotate').click();
    await page.locator('#issued-config').waitFor();
    const rotated = JSON.parse((await page.locator('#issued-json').textContent()) ?? '');
    const old = JSON.parse(readFileSync(path.join(rig.dir, 'porch.json'), 'utf8'));
    expect(rotated.mqtt.password).not.toBe(old.mqtt.password);
    await waitFor(async () => (await presence('porch')) === 'offline', {
      what: 'the agent with the old secret disconnected',
      timeoutMs: 15_000,
    });
    await page.locator('#issued-done').click();

    // The delete dialog, with the keyboard: focus Delete…, Enter, choose "delete", confirm.
    await page.locator('#manage-delete').focus();
    await page.keyboard.press('Enter');
    const dialog = page.locator('#delete-dialog');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await waitFor(async () => (await dialog.count()) === 0, { what: 'Escape cancels' });
    await page.locator('#manage-delete').focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await dialog.locator('input[value="delete"]').focus();
    await page.keyboard.press('Space');
    await dialog.locator('#delete-confirm').focus();
    await page.keyboard.press('Enter');
    await waitFor(
      async () => (await page.locator('#manage-deleted').textContent())?.startsWith('Deleted porch'),
      {
        what: 'deleted',
        timeoutMs: 15_000,
      },
    );
    await waitFor(async () => (await page.locator('tr[data-device="porch"]').count()) === 0, {
      what: 'porch gone from the list',
      timeoutMs: 15_000,
    });
    expect((await rig.cli(['device', 'show', 'porch'])).stderr).toMatch(/\[DEVICE_NOT_FOUND\]/);
  });
});
