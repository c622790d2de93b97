import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { decodedFrames, type launchChromium } from '../helpers/browser.js';
import type { CameraRig } from '../helpers/camera-rig.js';
import { waitFor } from '../helpers/wait-for.js';

/** The slice of the page the tests read (this project compiles without DOM types). */
interface PageGlobals {
  localStorage: { setItem(key: string, value: string): void };
  location: { hash: string };
  document: {
    fullscreenElement: { getAttribute(name: string): string | null } | null;
    activeElement: { getAttribute(name: string): string | null } | null;
  };
}

export interface GridTestContext {
  rig(): CameraRig;
  chromium(): Awaited<ReturnType<typeof launchChromium>>;
  agent(): ReturnType<CameraRig['startAgent']>;
}

/**
 * The grid in Chromium, on the rig of web-grid.test.ts (cam1 streaming and recorded, cam2
 * never online). The last test stops cam1's agent.
 */
export function gridBrowserTests(t: GridTestContext): void {
  /** A new browser context (its own localStorage) signed in with the rig's token, at `hash`. */
  const open = async (hash = ''): Promise<Page> => {
    const page = await (await t.chromium().browser.newContext()).newPage();
    await page.goto(t.rig().base);
    await page.evaluate(
      (token) => (globalThis as unknown as PageGlobals).localStorage.setItem('lookout.token', token),
      t.rig().token,
    );
    await page.goto(`${t.rig().base}/${hash}`);
    await page.reload();
    return page;
  };
  const tiles = (page: Page) =>
    page
      .locator('#players figure[data-device]')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-device')));
  const stateOf = async (page: Page, id: string) =>
    (await page.locator(`figure[data-device="${id}"] .state`).textContent()) ?? '';
  const hash = (page: Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).location.hash);

  it('opens a deep link to one camera live', async () => {
    const page = await open('#/live/cam1');
    try {
      await waitFor(async () => (await decodedFrames(page, 'cam1')) > 0, {
        timeoutMs: 30_000,
        what: 'cam1 playing from the link',
      });
      await waitFor(async () => /^live · \d+ frames$/.test(await stateOf(page, 'cam1')), {
        what: 'the tile saying live',
      });
      expect(await tiles(page)).toEqual(['cam1']);
      expect(await page.locator('figure[data-device="cam1"] .name').textContent()).toBe('Test pattern');
    } finally {
      await page.context().close();
    }
  }, 60_000);

  it('keeps the grid (cameras, order, columns) across a reload, and the URL links to it', async () => {
    const page = await open();
    try {
      await page.locator('button[data-device="cam2"]').click();
      await page.locator('button[data-device="cam1"]').click();
      await page.locator('#grid-columns').selectOption('2');
      await waitFor(async () => (await hash(page)) === '#/live/cam2,cam1?cols=2', {
        what: 'the URL of the grid',
      });
      await page.reload();
      await waitFor(async () => (await tiles(page)).join() === 'cam2,cam1', {
        what: 'the grid back after a reload',
      });
      expect(await page.locator('#grid-columns').inputValue()).toBe('2');
      expect(await page.locator('#players').getAttribute('data-columns')).toBe('2');
      await waitFor(async () => /^live/.test(await stateOf(page, 'cam1')), {
        timeoutMs: 30_000,
        what: 'cam1 live',
      });
      // cam2 never connected: its tile says so.
      await waitFor(async () => (await stateOf(page, 'cam2')).startsWith('camera offline, never seen'), {
        timeoutMs: 20_000,
        what: 'cam2 offline in its tile',
      });
    } finally {
      await page.context().close();
    }
  }, 60_000);

  it('saves a layout by name and opens it again by its link and from the list', async () => {
    const page = await open('#/live/cam1,cam2');
    try {
      await waitFor(async () => (await tiles(page)).join() === 'cam1,cam2', { what: 'the linked grid' });
      await page.locator('#layout-name').fill('Front and back');
      await page.locator('#layout-save').click();
      await waitFor(async () => (await hash(page)) === '#/layout/Front%20and%20back', {
        what: 'the layout link',
      });
      // Close both tiles: an empty grid.
      await waitFor(
        async () => {
          const closes = page.locator('#players figure .close');
          if ((await closes.count()) === 0) return true;
          await closes.first().click();
          return false;
        },
        { what: 'an empty grid' },
      );
      // Another tab of the same browser (same storage) follows the layout's link.
      const other = await page.context().newPage();
      await other.goto(`${t.rig().base}/#/layout/Front%20and%20back`);
      await waitFor(async () => (await tiles(other)).join() === 'cam1,cam2', {
        what: 'the layout from its link',
      });
      await other.close();
      // And from the list of saved layouts.
      await page.locator('#layout-select').selectOption('Front and back');
      await page.locator('#layout-open').click();
      await waitFor(async () => (await tiles(page)).join() === 'cam1,cam2', {
        what: 'the layout from the list',
      });
      expect(await page.locator('#grid-notice').textContent()).toBe('Layout “Front and back”.');
    } finally {
      await page.context().close();
    }
  }, 60_000);

  it('shows a tile full screen and back with the keyboard alone (Enter, Escape)', async () => {
    const page = await open('#/live/cam1');
    try {
      const button = page.locator('figure[data-device="cam1"] button.fullscreen');
      await button.waitFor();
      // Tab from the tile's video to its full-screen button, as a keyboard user would.
      await page.locator('figure[data-device="cam1"] .close').focus();
      await page.keyboard.press('Shift+Tab');
      expect(
        await page.evaluate(() =>
          (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('class'),
        ),
      ).toBe('fullscreen');
      await page.keyboard.press('Enter');
      await waitFor(
        () =>
          page.evaluate(
            () =>
              (globalThis as unknown as PageGlobals).document.fullscreenElement?.getAttribute(
                'data-device',
              ) === 'cam1',
          ),
        { what: 'the tile full screen' },
      );
      await waitFor(
        async () => (await button.getAttribute('aria-label')) === 'Leave full screen (Test pattern)',
        {
          what: 'the button offering to leave full screen',
        },
      );
      await page.keyboard.press('Escape');
      await waitFor(
        () => page.evaluate(() => (globalThis as unknown as PageGlobals).document.fullscreenElement === null),
        {
          what: 'full screen left with Escape',
        },
      );
      await waitFor(async () => (await button.getAttribute('aria-label')) === 'Full screen: Test pattern', {
        what: 'the button offering full screen again',
      });
    } finally {
      await page.context().close();
    }
  }, 60_000);

  it('shows a still picture of a camera nobody watches here, from its live keyframe', async () => {
    const page = await open();
    try {
      const still = page.locator('#stills figure[data-still-of="cam1"]');
      await waitFor(async () => (await still.getAttribute('data-still')) === 'shown', {
        timeoutMs: 20_000,
        what: 'the still of cam1',
      }).catch(async (err: Error) => {
        // Say what the page shows instead (its caption gives the HTTP status of a failed still).
        const shown = `${await still.getAttribute('data-still')}: ${await still.textContent()}`;
        throw new Error(`${err.message}; the tile shows ${shown}`);
      });
      expect(await still.getAttribute('data-still-source')).toBe('live');
      const size = await still.locator('img').evaluate((img) => {
        const i = img as unknown as { naturalWidth: number; naturalHeight: number; complete: boolean };
        return { width: i.naturalWidth, height: i.naturalHeight };
      });
      expect(size).toEqual({ width: 320, height: 180 });
      // cam2 neither streams nor recorded: no picture, and it is not woken for one.
      const none = page.locator('#stills figure[data-still-of="cam2"]');
      await waitFor(async () => (await none.getAttribute('data-still')) === 'none', {
        what: 'no still of cam2',
      });
      expect(await none.locator('.no-still').textContent()).toMatch(/no picture yet/);
      // Watch from the still tile: it moves to the live grid.
      await page.locator('button[data-watch-still="cam1"]').click();
      await waitFor(async () => (await tiles(page)).join() === 'cam1', {
        what: 'cam1 watched from its still',
      });
      expect(await page.locator('#stills figure[data-still-of="cam1"]').count()).toBe(0);
    } finally {
      await page.context().close();
    }
  }, 60_000);

  it('says how long a watched camera has been offline', async () => {
    const page = await open('#/live/cam1');
    try {
      await waitFor(async () => /^live/.test(await stateOf(page, 'cam1')), {
        timeoutMs: 30_000,
        what: 'cam1 live',
      });
      await t.agent().stop();
      await waitFor(async () => /^camera offline for \d+ s/.test(await stateOf(page, 'cam1')), {
        timeoutMs: 30_000,
        what: '"offline for" in the tile',
      }).catch(async (err) => {
        throw new Error(`${(err as Error).message}; the tile says: ${await stateOf(page, 'cam1')}`);
      });
      expect(await page.locator('figure[data-device="cam1"]').getAttribute('data-phase')).toBe('offline');
    } finally {
      await page.context().close();
    }
  }, 60_000);
}
