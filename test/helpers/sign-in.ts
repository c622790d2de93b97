import type { Page } from 'playwright-core';
import type { UserStore } from '../../devices/index.js';
import type { CliResult } from './cli.js';
import { waitFor } from './wait-for.js';

/** Who the web e2e tests sign in as, unless a test says otherwise. */
export const ADMIN = { username: 'admin', password: 'admin password' } as const;

export interface Credentials {
  username: string;
  password: string;
}

/** Adds the admin user to an in-process server's registry (`server.registry.users`). */
export async function addAdmin(users: UserStore, who: Credentials = ADMIN): Promise<Credentials> {
  await users.add(who.username, 'admin', who.password);
  return who;
}

/** Adds the admin user with `lookout user add <name> --admin --password-stdin` (a CameraRig's `cli`, or any runner of it). */
export async function addAdminWithCli(
  cli: (args: string[], options: { input: string }) => Promise<CliResult>,
  who: Credentials = ADMIN,
): Promise<Credentials> {
  const added = await cli(['user', 'add', who.username, '--admin', '--password-stdin'], {
    input: `${who.password}\n`,
  });
  if (added.code !== 0) throw new Error(`user add failed: ${added.stderr}`);
  return who;
}

/**
 * Signs `page` in at `base` through the sign-in form, as a person would (the session cookie,
 * not a token in localStorage), and waits until the page says who is signed in.
 */
export async function signInAsAdmin(page: Page, base: string, who: Credentials = ADMIN): Promise<void> {
  if (!page.url().startsWith(base)) await page.goto(base);
  await page.locator('#username').fill(who.username);
  await page.locator('#password').fill(who.password);
  await page.locator('#sign-in').click();
  await waitFor(async () => (await page.locator('#who').textContent()) === who.username, {
    what: `${who.username} signed in`,
    timeoutMs: 15_000,
  });
}
