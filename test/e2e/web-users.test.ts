import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodedFrames, launchChromium } from '../helpers/browser.js';
import { CLI_RUN_MS, runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

/**
 * "Revoked ends live sessions within 1 s" (issue 12): the server checks every 250 ms; the bound
 * leaves 500 ms for a machine so loaded that timers run late, as in whep-token-revoke.test.ts.
 */
const END_BOUND_MS = 1500;

/**
 * Users in the web app (issue 12 item 1, D34), in Chromium: a viewer signs in with a password,
 * sees only the cameras granted to it and is refused the others (live, recordings, and WHEP
 * called directly from the page); removing the user with `lookout user remove` in another
 * process, or taking its live grant away, stops its picture within a second.
 */
describe.runIf(ready)('users in the web app', () => {
  let t: TestServer;
  let chromium: { browser: Browser; close(): Promise<void> };

  beforeAll(async () => {
    t = await startTestServer();
    await t.startCamera('cam1');
    await t.addDevice('cam2');
    await t.addDevice('cam3');
    const users = t.server.registry.users;
    for (const name of ['ann', 'bob']) {
      await users.add(name, 'viewer', `${name} password`);
      await users.grant(name, 'cam1', { live: true, recordings: true });
      await users.grant(name, 'cam2', { live: false, recordings: true });
    }
    chromium = await launchChromium();
  }, 90_000);
  /** Every context a test opened is closed after it, pass or fail, and its WHEP sessions gone, so a failure does not cascade. */
  const contexts = new Set<BrowserContext>();
  afterEach(async () => {
    await Promise.all([...contexts].map((c) => c.close().catch(() => undefined)));
    contexts.clear();
    await waitFor(() => sessionOwners().length === 0, { what: 'the signed-in WHEP sessions closed' });
  });
  afterAll(async () => {
    await chromium?.close();
    await t?.close();
  });

  /** A fresh browser context (its own cookies), signed in through the form. */
  async function signIn(name: string): Promise<Page> {
    const context = await chromium.browser.newContext();
    contexts.add(context);
    const page = await context.newPage();
    await page.goto(t.httpUrl);
    await page.locator('#username').fill(name);
    await page.locator('#password').fill('wrong password');
    await page.locator('#sign-in').click();
    await waitFor(async () => (await page.locator('#sign-in-error').textContent())?.includes('Wrong'), {
      what: 'the wrong password refused',
    });
    await page.locator('#password').fill(`${name} password`);
    await page.locator('#sign-in').click();
    await waitFor(async () => (await page.locator('#who').count()) > 0, { what: `${name} signed in` });
    expect(await page.locator('#who').textContent()).toBe(name);
    return page;
  }

  const rows = (page: Page) =>
    page.locator('#devices tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-device')));
  /** The signed-in principals (`s:<session id>`) with an open WHEP session; one page at a time here. */
  const sessionOwners = () => [...t.server.media.sessionOwners()].filter((owner) => owner.startsWith('s:'));
  const watching = async () => {
    const owners = sessionOwners();
    expect(owners).toHaveLength(1);
    return owners[0]!;
  };

  async function watchCam1(page: Page): Promise<void> {
    await page.locator('button[data-device="cam1"]').click();
    await waitFor(async () => (await decodedFrames(page, 'cam1')) > 20, {
      timeoutMs: 40_000,
      what: 'decoded frames',
    });
  }

  /** Runs `lookout <args>` in another process and resolves when `visible()` says its change is in the registry. */
  async function cliChange(args: string[], visible: () => Promise<boolean>): Promise<number> {
    const run = runCli([...args, '--data-dir', t.dataDir]);
    const at = await waitFor(async () => ((await visible()) ? performance.now() : undefined), {
      timeoutMs: 2 * CLI_RUN_MS,
      intervalMs: 10,
      what: `${args.join(' ')} in the registry`,
    });
    expect((await run).code).toBe(0);
    return at;
  }

  it('signs in, sees only the granted cameras and is refused the others (live, recordings, WHEP)', {
    timeout: 120_000,
  }, async () => {
    const page = await signIn('ann');
    await waitFor(async () => (await rows(page)).length === 2, { what: 'the camera list' });
    expect(await rows(page)).toEqual(['cam1', 'cam2']);
    expect(await page.locator('button[data-device="cam1"]').isDisabled()).toBe(false);
    expect(await page.locator('button[data-device="cam2"]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-recordings="cam2"]').isDisabled()).toBe(false);
    // Straight at the API and WHEP from the page (its cookie, its CSRF token): cam3 and cam2's live view refused.
    const statuses = await page.evaluate(async () => {
      const session = (await (await fetch('/api/session')).json()) as { csrf: string };
      const whep = (id: string) =>
        fetch(`/whep/${id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/sdp', 'x-lookout-csrf': session.csrf },
          body: 'v=0\r\n',
        }).then((r) => r.status);
      return {
        whepCam3: await whep('cam3'),
        whepCam2: await whep('cam2'),
        recordingsCam3: (await fetch('/api/devices/cam3/recordings')).status,
        recordingsCam2: (await fetch('/api/devices/cam2/recordings')).status,
        deviceCam3: (await fetch('/api/devices/cam3')).status,
      };
    });
    expect(statuses).toEqual({
      whepCam3: 403,
      whepCam2: 403,
      recordingsCam3: 403,
      recordingsCam2: 200,
      deviceCam3: 403,
    });
    await watchCam1(page);
    // The tile's caption is refreshed once a second from the same counter.
    await waitFor(
      async () => /live/.test((await page.locator('figure[data-device="cam1"] .state').textContent()) ?? ''),
      {
        what: 'the tile to say live',
      },
    );

    // Sign out: back to the form, the picture gone.
    await page.locator('#sign-out').click();
    await waitFor(async () => (await page.locator('#login').count()) > 0, { what: 'the sign-in form' });
    await waitFor(async () => (await decodedFrames(page, 'cam1')) === 0, { what: 'the player closed' });
    await page.context().close();
  });

  it('revoke a user while they watch: their picture stops within 1 s', { timeout: 120_000 }, async () => {
    const page = await signIn('ann');
    await watchCam1(page);
    const owner = await watching();
    const removedAt = await cliChange(
      ['user', 'remove', 'ann'],
      async () => (await t.server.registry.users.get('ann')) === undefined,
    );
    await waitFor(() => !sessionOwners().includes(owner), {
      timeoutMs: END_BOUND_MS,
      what: "ann's WHEP session to end",
    });
    expect(performance.now() - removedAt).toBeLessThan(END_BOUND_MS);
    // The page hears `revoked` on its event stream and goes back to the sign-in form; its player closes.
    await waitFor(async () => (await page.locator('#login').count()) > 0, { what: 'the sign-in form' });
    await waitFor(async () => (await decodedFrames(page, 'cam1')) === 0, { what: 'the player closed' });
    await page.context().close();
  });

  it('taking the live grant away stops the picture within 1 s; the tile says why', {
    timeout: 120_000,
  }, async () => {
    const page = await signIn('bob');
    await watchCam1(page);
    const owner = await watching();
    const takenAt = await cliChange(['user', 'revoke', 'bob', 'cam1', '--live'], async () =>
      (await t.server.registry.users.grants('bob')).some((g) => g.camera === 'cam1' && !g.live),
    );
    await waitFor(() => !sessionOwners().includes(owner), {
      timeoutMs: END_BOUND_MS,
      what: "bob's WHEP session to end",
    });
    expect(performance.now() - takenAt).toBeLessThan(END_BOUND_MS);
    await waitFor(
      async () =>
        (await page.locator('figure[data-device="cam1"] .state').textContent())?.includes('no right') ||
        (await page.locator('figure[data-device="cam1"]').count()) === 0,
      { timeoutMs: 15_000, what: 'the tile to say bob may not watch' },
    );
    // Still signed in, still sees cam1 in the list (recordings), but may not watch it.
    expect(await page.locator('#who').textContent()).toBe('bob');
    await waitFor(async () => page.locator('button[data-device="cam1"]').isDisabled(), {
      what: 'Watch disabled',
    });
    await page.context().close();
  });
});
