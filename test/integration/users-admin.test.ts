import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserDocument } from '../../http-contract/index.js';
import { captureLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

/** "Within 1 s": the principal watch checks every 250 ms; 500 ms more for a loaded machine (as in web-users). */
const END_BOUND_MS = 1500;

interface Signed {
  cookie: string;
  csrf: string;
}

/**
 * User administration over HTTP (D38), with a real server: admins only, CSRF with the cookie,
 * the rules (not oneself, not the last admin) as coded conflicts, a password change ending the
 * user's other sessions, and removing a user or taking a grant away ending its live views
 * within a second (real camera, werift players signed in with a session cookie).
 */
describe.runIf(hasFfmpeg)('users administration over HTTP', () => {
  let t: TestServer;
  let root: Signed;
  const players: WhepClient[] = [];

  const call = async (
    path: string,
    init: { method?: string; as?: Signed | null; csrf?: boolean; body?: unknown } = {},
  ) => {
    const as = init.as === undefined ? root : init.as;
    const headers: Record<string, string> = {};
    if (as) headers.cookie = as.cookie;
    if (as && init.csrf !== false) headers['x-lookout-csrf'] = as.csrf;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.httpUrl}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  async function signIn(username: string, password: string): Promise<Signed> {
    const res = await fetch(`${t.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status, `${username} signs in`).toBe(200);
    const body = (await res.json()) as { csrf: string };
    return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrf };
  }
  const sessionOk = async (s: Signed) => (await call('/api/session', { as: s })).status === 200;

  beforeAll(async () => {
    t = await startTestServer();
    await t.startCamera('cam1');
    await t.addDevice('cam2');
    await t.server.registry.users.add('root', 'admin', 'root password');
    root = await signIn('root', 'root password');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(players.map((p) => p.pc.close()));
    await t?.close();
  });

  it('is for admins only: 401 without a principal, 403 for a viewer, 403 CSRF_INVALID without the header', async () => {
    await t.server.registry.users.add('vic', 'viewer', 'vic password');
    const vic = await signIn('vic', 'vic password');
    expect((await call('/api/users', { as: null })).status).toBe(401);
    const refused = await call('/api/users', { as: vic });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    const noCsrf = await call('/api/users', {
      method: 'POST',
      csrf: false,
      body: { name: 'x', role: 'viewer', password: 'xxxxxxxx' },
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.code).toBe('CSRF_INVALID');
    // A read-only admin token changes nothing either.
    const { token } = await t.server.registry.tokens.create('ro', { readOnly: true });
    const ro = await fetch(`${t.httpUrl}/api/users`, { headers: { authorization: `Bearer ${token}` } });
    expect(ro.status).toBe(403);
  });

  it('adds, lists, grants, changes a role; bad input and duplicates are coded', async () => {
    const added = await call('/api/users', {
      method: 'POST',
      body: { name: 'ann', role: 'viewer', password: 'ann password' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ name: 'ann', role: 'viewer', grants: [] });
    expect(
      (await call('/api/users', { method: 'POST', body: { name: 'ann', password: 'whatever1' } })).body,
    ).toMatchObject({ code: 'USER_EXISTS', status: 409 });
    expect(
      (await call('/api/users', { method: 'POST', body: { name: '../x', password: 'whatever1' } })).body,
    ).toMatchObject({ code: 'USER_NAME_INVALID', status: 400 });
    expect(
      (await call('/api/users', { method: 'POST', body: { name: 'bo', password: 'short' } })).body,
    ).toMatchObject({ code: 'BODY_INVALID', status: 400 });

    const granted = await call('/api/users/ann/grants/cam1', {
      method: 'PUT',
      body: { live: true, recordings: false },
    });
    expect(granted.status).toBe(200);
    expect(granted.body.grants).toEqual([{ camera: 'cam1', live: true, recordings: false }]);
    expect(
      (await call('/api/users/ann/grants/nope', { method: 'PUT', body: { live: true, recordings: true } }))
        .body,
    ).toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
    expect(
      (await call('/api/users/nobody/grants/cam1', { method: 'PUT', body: { live: true, recordings: true } }))
        .body,
    ).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });

    const list = (await call('/api/users')).body as { users: UserDocument[] };
    expect(list.users.map((u) => [u.name, u.role])).toEqual([
      ['ann', 'viewer'],
      ['root', 'admin'],
      ['vic', 'viewer'],
    ]);
    expect(list.users[0]!.grants).toEqual([{ camera: 'cam1', live: true, recordings: false }]);
    expect(Date.parse(list.users[0]!.createdAt)).toBeGreaterThan(0);

    const promoted = await call('/api/users/vic', { method: 'PATCH', body: { role: 'admin' } });
    expect(promoted.body).toMatchObject({ name: 'vic', role: 'admin' });
    expect((await call('/api/users/vic', { method: 'PATCH', body: { role: 'viewer' } })).body.role).toBe(
      'viewer',
    );
  });

  it('refuses removing oneself and removing or demoting the last admin, with codes', async () => {
    const self = await call('/api/users/root', { method: 'DELETE' });
    expect(self.status).toBe(409);
    expect(self.body.code).toBe('USER_SELF_REMOVE');
    const demote = await call('/api/users/root', { method: 'PATCH', body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    expect(demote.body.code).toBe('LAST_ADMIN');
    // An admin token that is no user may not remove the last admin either.
    const { token } = await t.server.registry.tokens.create('script');
    const byToken = await fetch(`${t.httpUrl}/api/users/root`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(byToken.status).toBe(409);
    expect(((await byToken.json()) as { code: string }).code).toBe('LAST_ADMIN');
    expect((await call('/api/users/nobody', { method: 'DELETE' })).body.code).toBe('USER_NOT_FOUND');
    expect(await t.server.registry.users.get('root')).toBeDefined();
  });

  it("an admin's password change ends that user's sessions; changing one's own keeps the caller's", async () => {
    const ann1 = await signIn('ann', 'ann password');
    const ann2 = await signIn('ann', 'ann password');
    const set = await call('/api/users/ann/password', { method: 'PUT', body: { password: 'new ann pass' } });
    expect(set.status).toBe(200);
    expect([await sessionOk(ann1), await sessionOk(ann2)]).toEqual([false, false]);
    await signIn('ann', 'new ann pass');

    const rootElsewhere = await signIn('root', 'root password');
    const own = await call('/api/users/root/password', {
      method: 'PUT',
      body: { password: 'new root pass' },
    });
    expect(own.status).toBe(200);
    expect(await sessionOk(root)).toBe(true);
    expect(await sessionOk(rootElsewhere)).toBe(false);
  });

  /** A werift player signed in as `name`; resolves once video flows. */
  async function watching(name: string, password: string) {
    const signed = await signIn(name, password);
    const player = new WhepClient(t.httpUrl, signed);
    players.push(player);
    expect((await player.play('cam1')).status).toBe(201);
    await waitFor(() => player.stats.video > 30, { timeoutMs: 20_000, what: `video at ${name}'s player` });
    const owner = [...t.server.media.sessionOwners()].find((o) => o.startsWith('s:'));
    expect(owner).toBeDefined();
    return { player, owner: owner!, signed };
  }
  const open = (owner: string) => t.server.media.sessionOwners().has(owner);

  it('taking the live grant away over HTTP ends the live view within 1 s; the session stays', {
    timeout: 60_000,
  }, async () => {
    const { player, owner, signed } = await watching('ann', 'new ann pass');
    const res = await call('/api/users/ann/grants/cam1', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.body.grants).toEqual([]);
    const takenAt = performance.now();
    await waitFor(() => !open(owner), { timeoutMs: END_BOUND_MS, what: "ann's WHEP session to end" });
    expect(performance.now() - takenAt).toBeLessThan(END_BOUND_MS);
    expect(await sessionOk(signed)).toBe(true);
    const refused = new WhepClient(t.httpUrl, signed);
    players.push(refused);
    expect((await refused.play('cam1')).status).toBe(403);
    await player.pc.close();
  });

  it('removing a user over HTTP ends its live view and its session within 1 s', {
    timeout: 60_000,
  }, async () => {
    await call('/api/users/ann/grants/cam1', { method: 'PUT', body: { live: true, recordings: true } });
    const { player, owner, signed } = await watching('ann', 'new ann pass');
    const res = await call('/api/users/ann', { method: 'DELETE' });
    expect(res.status).toBe(204);
    const removedAt = performance.now();
    await waitFor(() => !open(owner), { timeoutMs: END_BOUND_MS, what: "ann's WHEP session to end" });
    expect(performance.now() - removedAt).toBeLessThan(END_BOUND_MS);
    expect(await sessionOk(signed)).toBe(false);
    expect(await t.server.registry.users.get('ann')).toBeUndefined();
    await player.pc.close();
  });
});

/** First run: the first admin from the browser with the printed one-time code (D38). */
describe('first-admin setup', () => {
  it('prints a setup link once; its code creates the first admin and signs it in, once', async () => {
    const { lines, log } = captureLog();
    const fresh = await startTestServer({}, { log });
    try {
      const hints = lines.filter((l) => typeof l.setupUrl === 'string');
      expect(hints).toHaveLength(1);
      const url = new URL(String(hints[0]!.setupUrl));
      expect(url.origin).toBe(fresh.httpUrl);
      const code = url.hash.replace(/^#setup=/, '');
      expect(code).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const post = (body: unknown) =>
        fetch(`${fresh.httpUrl}/api/setup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect(await (await fetch(`${fresh.httpUrl}/api/setup`)).json()).toEqual({ open: true });
      const wrong = await post({ code: `x${code.slice(1)}`, username: 'admin', password: 'admin password' });
      expect(wrong.status).toBe(403);
      expect(((await wrong.json()) as { code: string }).code).toBe('SETUP_CODE_INVALID');
      // A refused name leaves the code usable.
      expect((await post({ code, username: '../x', password: 'admin password' })).status).toBe(400);
      const ok = await post({ code, username: 'admin', password: 'admin password' });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ kind: 'session', user: 'admin', role: 'admin' });
      const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect((await fetch(`${fresh.httpUrl}/api/users`, { headers: { cookie } })).status).toBe(200);
      const again = await post({ code, username: 'eve', password: 'eve password' });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { code: string }).code).toBe('SETUP_CLOSED');
      expect(await (await fetch(`${fresh.httpUrl}/api/setup`)).json()).toEqual({ open: false });
      expect((await fresh.server.registry.users.list()).map((u) => u.name)).toEqual(['admin']);
    } finally {
      await fresh.close();
    }
  });
});
