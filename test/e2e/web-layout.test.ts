import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../cli/server.js';
import { loadConfig } from '../../config/index.js';
import { launchChromium } from '../helpers/browser.js';
import { testLogger } from '../helpers/log.js';
import { addAdmin, signInAsAdmin } from '../helpers/sign-in.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 12 item 6: every screen usable on a phone (390 px) and a desktop, with the keyboard,
// light and dark, and no serious accessibility violation (axe-core). Screenshots of each go to
// the test's temporary directory; LOOKOUT_KEEP_SCREENSHOTS=1 keeps it (its path is printed).
const ready = requireTool('chromium', ['--version']);
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1280, height: 800 },
];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}
interface PageGlobals {
  innerWidth: number;
  document: { scrollingElement: { scrollWidth: number } | null };
  axe: { run(context: unknown, options: object): Promise<{ violations: AxeViolation[] }> };
}

describe.runIf(ready)('the web app at 390 px and 1280 px: layout, keyboard, accessibility', () => {
  const tmp = tempDir('lookout-web-layout-');
  let server: RunningServer | undefined;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let base: string;

  beforeAll(async () => {
    const config = loadConfig({
      flags: {
        dataDir: path.join(tmp.dir, 'data'),
        'http.host': '127.0.0.1',
        'http.port': 0,
        'mqtt.host': '127.0.0.1',
        'mqtt.port': 0,
        'turn.mode': 'off',
        'media.workers': 0,
      },
    });
    server = await startServer(config, testLogger(), 'test');
    base = `http://127.0.0.1:${server.http.address().port}`;
    await server.registry.devices.add('front-door', 'Front door, the long way round to the garden');
    await server.registry.devices.add('garage');
    await addAdmin(server.registry.users);
    await server.registry.users.add('ann', 'viewer', 'ann password');
    await server.registry.users.grant('ann', 'garage', { live: true, recordings: false });
    chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    if (process.env.LOOKOUT_KEEP_SCREENSHOTS) console.log(`web-layout screenshots: ${tmp.dir}`);
    else tmp.remove();
  });

  /** Fails on horizontal overflow of the page. */
  const noOverflow = async (page: Page, screen: string) => {
    const { scrollWidth, innerWidth } = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { scrollWidth: g.document.scrollingElement!.scrollWidth, innerWidth: g.innerWidth };
    });
    expect(scrollWidth, `${screen}: page width`).toBeLessThanOrEqual(innerWidth);
  };
  /** Fails on a serious or critical axe-core violation. */
  const accessible = async (page: Page, screen: string) => {
    await page.addScriptTag({ path: AXE });
    const { violations } = await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).axe.run(
        (globalThis as unknown as { document: unknown }).document,
        { resultTypes: ['violations'] },
      ),
    );
    const serious = violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(serious, screen).toEqual([]);
  };
  const shoot = (page: Page, screen: string) =>
    page.screenshot({ path: path.join(tmp.dir, `${screen}.png`), fullPage: true });

  for (const size of SIZES) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`${size.name} (${size.width}x${size.height}), ${scheme}: sign-in, cameras, live, grid, recordings, device management and users`, async () => {
        const page = await chromium.browser.newPage({
          viewport: { width: size.width, height: size.height },
          colorScheme: scheme,
        });
        try {
          await page.goto(base);
          const screen = `${size.name}-${scheme}`;
          await page.locator('#login').waitFor();
          await noOverflow(page, `${screen} sign-in`);
          await shoot(page, `${screen}-sign-in`);
          await accessible(page, `${screen} sign-in`);
          await signInAsAdmin(page, base);

          // The camera list: every Watch button within the screen's width, nothing wider than it.
          const watchButtons = page.locator('button[data-device]');
          await waitFor(async () => (await watchButtons.count()) === 2, {
            what: 'two Watch buttons',
            timeoutMs: 15_000,
          });
          await waitFor(async () => (await page.locator('#health').textContent())?.startsWith('server ok'), {
            what: 'server ok',
            timeoutMs: 15_000,
          });
          for (const button of await watchButtons.all()) {
            expect(await button.isVisible()).toBe(true);
            // Where it lies in the page (not the viewport): reachable without scrolling sideways.
            const box = await button.evaluate((el) => {
              const r = (
                el as unknown as { getBoundingClientRect(): { left: number; right: number } }
              ).getBoundingClientRect();
              const { scrollX } = globalThis as unknown as { scrollX: number };
              return { left: r.left + scrollX, right: r.right + scrollX };
            });
            expect(box.left, `${screen}: Watch button left edge`).toBeGreaterThanOrEqual(0);
            expect(box.right, `${screen}: Watch button right edge`).toBeLessThanOrEqual(size.width);
          }
          await noOverflow(page, `${screen} cameras`);
          await shoot(page, `${screen}-cameras`);
          await accessible(page, `${screen} cameras`);

          // With the keyboard alone: Tab to the first Watch button, Enter opens its player.
          await page.locator('body').focus();
          await waitFor(
            async () => {
              await page.keyboard.press('Tab');
              return page.evaluate(
                () =>
                  (
                    globalThis as unknown as {
                      document: { activeElement: { getAttribute(n: string): string | null } | null };
                    }
                  ).document.activeElement?.getAttribute('data-device') === 'front-door',
              );
            },
            { what: 'focus on the first Watch button', intervalMs: 0, timeoutMs: 15_000 },
          );
          await page.keyboard.press('Enter');
          const tile = page.locator('figure[data-device="front-door"]');
          await waitFor(
            async () => /camera offline/.test((await tile.locator('.state').textContent()) ?? ''),
            {
              what: 'the offline camera said so in its tile',
              timeoutMs: 15_000,
            },
          );
          await noOverflow(page, `${screen} live`);
          await shoot(page, `${screen}-live`);
          await accessible(page, `${screen} live`);

          // The grid: a layout saved (its list shown), two columns, the still tile of the camera
          // not watched (nothing to show: it never streamed), a tile full screen.
          await page.locator('#layout-name').fill('Front');
          await page.locator('#layout-save').click();
          await page.locator('#layout-select').waitFor();
          await page.locator('#grid-columns').selectOption('2');
          await waitFor(
            async () =>
              (await page.locator('#stills figure[data-still-of="garage"]').getAttribute('data-still')) ===
              'none',
            { what: 'the still tile of the camera not watched', timeoutMs: 15_000 },
          );
          await noOverflow(page, `${screen} grid`);
          await shoot(page, `${screen}-grid`);
          await accessible(page, `${screen} grid`);

          // The recordings panel of a camera with nothing recorded.
          await page.locator('button[data-recordings="garage"]').click();
          await waitFor(
            async () =>
              (await page.locator('#rec-status').textContent()) === 'Nothing recorded in this range.',
            { what: 'the empty recordings panel', timeoutMs: 15_000 },
          );
          await noOverflow(page, `${screen} recordings`);
          await shoot(page, `${screen}-recordings`);
          await accessible(page, `${screen} recordings`);

          // Device management: a camera chosen, then the delete dialog (Escape closes it).
          await page.locator('#manage-select').selectOption('garage');
          await page.locator('#manage-device').waitFor();
          await noOverflow(page, `${screen} manage`);
          await shoot(page, `${screen}-manage`);
          await accessible(page, `${screen} manage`);
          await page.locator('#manage-delete').click();
          await page.locator('#delete-dialog').waitFor();
          await noOverflow(page, `${screen} delete dialog`);
          await shoot(page, `${screen}-delete-dialog`);
          await accessible(page, `${screen} delete dialog`);
          await page.keyboard.press('Escape');
          await waitFor(async () => (await page.locator('#delete-dialog').count()) === 0, {
            what: 'the dialog closed by Escape',
          });

          // Users: a viewer chosen with the keyboard (its grants), then the remove dialog.
          await page.locator('button[data-manage-user="ann"]').focus();
          await page.keyboard.press('Enter');
          await page.locator('#manage-user[data-user="ann"]').waitFor();
          await page.locator('#user-grants').waitFor();
          await noOverflow(page, `${screen} users`);
          await shoot(page, `${screen}-users`);
          await accessible(page, `${screen} users`);
          await page.locator('#user-remove').click();
          await page.locator('#remove-user-dialog').waitFor();
          await noOverflow(page, `${screen} remove user dialog`);
          await accessible(page, `${screen} remove user dialog`);
          await page.keyboard.press('Escape');
          await waitFor(async () => (await page.locator('#remove-user-dialog').count()) === 0, {
            what: 'the remove dialog closed by Escape',
          });
        } finally {
          await page.close();
        }
      });
    }
  }
});
