import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodedFrames, launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN, addAdmin, type Credentials, signInAsAdmin } from '../helpers/sign-in.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

/** "Within 1 s": the principal watch checks every 250 ms; 500 ms more for a loaded machine (as in web-users). */
const END_BOUND_MS = 1500;

/**
 * The Users screen (issue 12 item 1, D38), in Chromium against a real server and camera: an
 * admin adds a viewer and grants it a camera with the keyboard; the viewer signs in and
 * watches; taking the grant away or removing the user in the admin's page stops the viewer's
 * picture within a second; a password change signs the user out; the admin cannot remove
 * themselves or demote the last admin, and is told why; a viewer sees no Users screen.
 */
describe.runIf(ready)('the Users screen', () => {
  let t: TestServer;
  let chromium: { browser: Browser; close(): Promise<void> };
  let admin: Page;
  const contexts = new Set<BrowserContext>();

  beforeAll(async () => {
    t = await startTestServer();
    await t.startCamera('cam1');
    await t.addDevice('cam2');
    await addAdmin(t.server.registry.users);
    chromium = await launchChromium();
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
    admin = await context.newPage();
    await admin.goto(t.httpUrl);
    await signInAsAdmin(admin, t.httpUrl);
  }, 90_000);
  afterEach(async () => {
    await Promise.all([...contexts].map((c) => c.close().catch(() => undefined)));
    contexts.clear();
    // A closed page's session ends at once when it said goodbye, else when ICE gives up on it.
    await waitFor(() => sessionOwners().length === 0, {
      timeoutMs: 60_000,
      what: 'the signed-in WHEP sessions closed',
    });
  });
  afterAll(async () => {
    await chromium?.close();
    await t?.close();
  });

  /** A fresh browser (own cookies) signed in as `who` through the form. */
  async function signedIn(who: Credentials): Promise<Page> {
    const context = await chromium.browser.newContext();
    contexts.add(context);
    const page = await context.newPage();
    await signInAsAdmin(page, t.httpUrl, who);
    return page;
  }
  const userRow = (name: string) => admin.locator(`#users-table tr[data-user="${name}"]`);
  const manage = async (name: string) => {
    await admin.locator(`button[data-manage-user="${name}"]`).click();
    await admin.locator(`#manage-user[data-user="${name}"]`).waitFor();
  };
  const status = () => admin.locator('#manage-user-status').textContent();
  const sessionOwners = () => [...t.server.media.sessionOwners()].filter((o) => o.startsWith('s:'));
  const grantOf = async (name: string, camera: string) =>
    (await t.server.registry.users.grants(name)).find((g) => g.camera === camera);

  /** Waits (at 10 ms) until `visible()` says the change is in the registry; its time. */
  const changedAt = (visible: () => Promise<boolean>, what: string) =>
    waitFor(async () => ((await visible()) ? performance.now() : undefined), {
      intervalMs: 10,
      timeoutMs: 15_000,
      what,
    });

  async function watchCam1(page: Page): Promise<string> {
    await page.locator('button[data-device="cam1"]').click();
    await waitFor(async () => (await decodedFrames(page, 'cam1')) > 20, {
      timeoutMs: 40_000,
      what: 'decoded frames',
    });
    const owners = sessionOwners();
    expect(owners).toHaveLength(1);
    return owners[0]!;
  }

  it('adds a viewer and grants it a camera with the keyboard; the viewer watches; taking the grant stops it within 1 s', {
    timeout: 120_000,
  }, async () => {
    await admin.locator('#new-user-name').fill('ann');
    await admin.locator('#new-user-role').selectOption('viewer');
    await admin.locator('#new-user-password').fill('ann password');
    await admin.locator('#new-user-password').press('Enter');
    await waitFor(
      async () => (await admin.locator('#users-status').textContent()) === 'Added ann (viewer).',
      {
        what: 'ann added',
      },
    );
    expect(await userRow('ann').locator('[data-grants]').textContent()).toBe('none yet');
    await admin.locator('#manage-user[data-user="ann"]').waitFor();
    // Keyboard: focus the Live checkbox of cam1, Space checks it.
    await admin.locator('input[data-grant="cam1"][data-right="live"]').focus();
    await admin.keyboard.press('Space');
    await waitFor(async () => (await status()) === 'ann may see cam1: live.', { what: 'the grant set' });
    expect(await userRow('ann').locator('[data-grants]').textContent()).toBe('cam1 (live)');
    expect(await grantOf('ann', 'cam1')).toMatchObject({ live: true, recordings: false });

    const ann = await signedIn({ username: 'ann', password: 'ann password' });
    // A viewer sees its camera, and neither Users nor Manage cameras.
    await waitFor(async () => (await ann.locator('#devices tbody tr').count()) === 1, { what: "ann's list" });
    expect(await ann.locator('#users').count()).toBe(0);
    expect(await ann.locator('#manage-title').count()).toBe(0);
    const owner = await watchCam1(ann);

    await admin.locator('input[data-grant="cam1"][data-right="live"]').click();
    const takenAt = await changedAt(
      async () => (await grantOf('ann', 'cam1')) === undefined,
      'grant gone',
    ).catch(async (err: Error) => {
      const said = `${await status()} / ${await admin.locator('#manage-user-error').textContent()}`;
      throw new Error(`${err.message}: ${JSON.stringify(await grantOf('ann', 'cam1'))}; the page: ${said}`);
    });
    await waitFor(() => !sessionOwners().includes(owner), {
      timeoutMs: END_BOUND_MS,
      what: "ann's WHEP session to end",
    });
    expect(performance.now() - takenAt).toBeLessThan(END_BOUND_MS);
    await waitFor(async () => (await status()) === 'ann may no longer see cam1.', { what: 'said so' });
  });

  it('removing a user while they watch stops the picture within 1 s and signs them out', {
    timeout: 120_000,
  }, async () => {
    await manage('ann');
    await admin.locator('input[data-grant="cam1"][data-right="live"]').check();
    await waitFor(async () => (await grantOf('ann', 'cam1'))?.live === true, { what: 'live granted again' });
    const ann = await signedIn({ username: 'ann', password: 'ann password' });
    const owner = await watchCam1(ann);

    await admin.locator('#user-remove').click();
    const dialog = admin.locator('#remove-user-dialog');
    await dialog.waitFor();
    await admin.locator('#remove-user-confirm').click();
    const removedAt = await changedAt(
      async () => (await t.server.registry.users.get('ann')) === undefined,
      'ann removed',
    );
    await waitFor(() => !sessionOwners().includes(owner), {
      timeoutMs: END_BOUND_MS,
      what: "ann's WHEP session to end",
    });
    expect(performance.now() - removedAt).toBeLessThan(END_BOUND_MS);
    await waitFor(
      async () => (await admin.locator('#users-status').textContent())?.startsWith('Removed ann'),
      {
        what: 'said so',
      },
    );
    expect(await userRow('ann').count()).toBe(0);
    await waitFor(async () => (await ann.locator('#login').count()) > 0, { what: "ann's sign-in form" });
  });

  it('a new password signs the user out; the admin cannot remove themselves or demote the last admin', {
    timeout: 90_000,
  }, async () => {
    await t.server.registry.users.add('bob', 'viewer', 'bob password');
    const bob = await signedIn({ username: 'bob', password: 'bob password' });
    await admin.reload();
    await admin.locator(`button[data-manage-user="bob"]`).waitFor();
    await manage('bob');
    await admin.locator('#user-password').fill('bob new password');
    await admin.locator('#user-password-save').click();
    await waitFor(async () => (await status())?.startsWith('Password changed'), { what: 'password changed' });
    // bob's page hears `revoked` on its event stream and goes back to the form.
    await waitFor(async () => (await bob.locator('#login').count()) > 0, {
      timeoutMs: 15_000,
      what: "bob's sign-in form",
    });
    await signInAsAdmin(bob, t.httpUrl, { username: 'bob', password: 'bob new password' });

    await manage(ADMIN.username);
    expect(await admin.locator('#user-remove').isDisabled()).toBe(true);
    await admin.locator('#user-role').selectOption('viewer');
    await waitFor(
      async () => /last admin/.test((await admin.locator('#manage-user-error').textContent()) ?? ''),
      {
        what: 'the refusal said',
      },
    );
    expect(await admin.locator('#user-role').inputValue()).toBe('admin');
    expect((await t.server.registry.users.get(ADMIN.username))?.role).toBe('admin');
    // Over the API, with the page's own session, the refusals carry their codes.
    const refused = await admin.evaluate(async (name) => {
      const session = (await (await fetch('/api/session')).json()) as { csrf: string };
      const res = await fetch(`/api/users/${name}`, {
        method: 'DELETE',
        headers: { 'x-lookout-csrf': session.csrf },
      });
      return { status: res.status, code: ((await res.json()) as { code: string }).code };
    }, ADMIN.username);
    expect(refused).toEqual({ status: 409, code: 'USER_SELF_REMOVE' });
  });
});
