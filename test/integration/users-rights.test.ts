import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openEventStream } from '../helpers/sse-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** A minimal SDP offer: the rights are checked before the offer is read by the media node. */
const OFFER = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n';

/**
 * Users, sign-in and rights over real HTTP (issue 12, D34): a viewer signs in and sees only the
 * cameras granted to it, is refused the others (live, recordings, WHEP), must send the CSRF
 * header with its cookie, and its sign-in backs off; tokens are limited by user, cameras and
 * read-only.
 */
describe('users, sessions and rights over HTTP', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
    for (const id of ['cam1', 'cam2', 'cam3']) await t.addDevice(id);
    const users = t.server.registry.users;
    await users.add('root', 'admin', 'root password');
    await users.add('ann', 'viewer', 'ann password');
    await users.grant('ann', 'cam1', { live: true, recordings: true });
    await users.grant('ann', 'cam2', { live: false, recordings: true });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  async function signIn(username: string, password: string) {
    const res = await fetch(`${t.httpUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const body = (await res.json()) as { csrf?: string; code?: string; role?: string };
    const setCookie = res.headers.get('set-cookie') ?? '';
    const cookie = setCookie.split(';')[0]!;
    return { res, body, setCookie, cookie, csrf: body.csrf ?? '' };
  }

  const call = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) => fetch(`${t.httpUrl}${path}`, init);

  it('signs a viewer in with an HttpOnly SameSite cookie; it sees and opens only its granted cameras', async () => {
    const bad = await signIn('ann', 'wrong password');
    expect(bad.res.status).toBe(401);
    expect(bad.body.code).toBe('SIGN_IN_FAILED');
    expect(bad.setCookie).toBe('');

    const ann = await signIn('ann', 'ann password');
    expect(ann.res.status).toBe(200);
    expect(ann.setCookie).toMatch(
      /^lookout_session=lks_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/,
    );
    expect(ann.body).toMatchObject({
      kind: 'session',
      user: 'ann',
      role: 'viewer',
      cameras: [
        { id: 'cam1', live: true, recordings: true },
        { id: 'cam2', live: false, recordings: true },
      ],
    });
    expect(ann.csrf.length).toBeGreaterThan(20);
    const headers = { cookie: ann.cookie };
    const withCsrf = { ...headers, 'x-lookout-csrf': ann.csrf };

    const list = (await (await call('/api/devices', { headers })).json()) as {
      devices: Array<{ id: string }>;
    };
    expect(list.devices.map((d) => d.id)).toEqual(['cam1', 'cam2']);
    expect((await call('/api/devices/cam1', { headers })).status).toBe(200);
    const refused = await call('/api/devices/cam3', { headers });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'CAMERA_FORBIDDEN' });

    // Recordings: cam1 and cam2 granted, cam3 not (listing, a segment, an export).
    expect((await call('/api/devices/cam1/recordings', { headers })).status).toBe(200);
    expect((await call('/api/devices/cam2/recordings', { headers })).status).toBe(200);
    expect((await call('/api/devices/cam3/recordings', { headers })).status).toBe(403);
    expect((await call('/api/devices/cam3/recordings/1', { headers })).status).toBe(403);
    expect((await call('/api/devices/cam3/export.mp4?from=-1h', { headers })).status).toBe(403);

    // WHEP directly: cam3 not granted, cam2 recordings only; cam1 passes the rights check (and is offline).
    const whep = (id: string, h: Record<string, string>) =>
      call(`/whep/${id}`, {
        method: 'POST',
        headers: { ...h, 'content-type': 'application/sdp' },
        body: OFFER,
      });
    for (const id of ['cam3', 'cam2']) {
      const res = await whep(id, withCsrf);
      expect(res.status, id).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'CAMERA_FORBIDDEN' });
    }
    expect((await whep('cam1', withCsrf)).status).not.toBe(403);
    // The cookie without the CSRF header is refused on a state-changing request.
    const noCsrf = await whep('cam1', headers);
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.json()).toMatchObject({ code: 'CSRF_INVALID' });

    // A viewer changes nothing: recording policy and metrics are for admins.
    const patch = await call('/api/devices/cam1/recording', {
      method: 'PATCH',
      headers: { ...withCsrf, 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'continuous' }),
    });
    expect(patch.status).toBe(403);
    expect(await patch.json()).toMatchObject({ code: 'FORBIDDEN' });

    // The event stream's snapshot lists the granted cameras only.
    const events = await openEventStream(`${t.httpUrl}/api/events`, headers);
    expect(events.status).toBe(200);
    const snapshot = await events.next('snapshot');
    expect(snapshot.data.devices.map((d: { id: string }) => d.id)).toEqual(['cam1', 'cam2']);
    events.close();

    // Sign-out needs the CSRF header too, then the cookie is worthless.
    expect((await call('/api/session', { method: 'DELETE', headers })).status).toBe(403);
    const out = await call('/api/session', { method: 'DELETE', headers: withCsrf });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^lookout_session=; .*Max-Age=0/);
    const after = await call('/api/devices', { headers });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ code: 'SESSION_INVALID' });
  });

  it('shows an admin every camera and lets it change a recording policy', async () => {
    const root = await signIn('root', 'root password');
    expect(root.body).toMatchObject({ role: 'admin', cameras: null });
    const list = (await (await call('/api/devices', { headers: { cookie: root.cookie } })).json()) as {
      devices: Array<{ id: string }>;
    };
    expect(list.devices.map((d) => d.id)).toEqual(['cam1', 'cam2', 'cam3']);
    const patch = await call('/api/devices/cam3/recording', {
      method: 'PATCH',
      headers: { cookie: root.cookie, 'x-lookout-csrf': root.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ maxAgeHours: 5 }),
    });
    expect(patch.status).toBe(200);
  });

  it('limits tokens to their user, their cameras and to reading; legacy tokens stay admin tokens', async () => {
    const tokens = t.server.registry.tokens;
    const legacy = (await tokens.create('old script')).token;
    const scoped = (
      await tokens.create('ann cam2', { user: 'ann', cameras: ['cam2', 'cam3'], readOnly: true })
    ).token;
    const readOnlyAdmin = (await tokens.create('root ro', { user: 'root', readOnly: true })).token;
    const ids = async (token: string) =>
      (
        (await (await call('/api/devices', { headers: { authorization: `Bearer ${token}` } })).json()) as {
          devices: Array<{ id: string }>;
        }
      ).devices.map((d) => d.id);
    expect(await ids(legacy)).toEqual(['cam1', 'cam2', 'cam3']);
    // ann's rights ∩ the token's cameras: cam3 is not ann's, cam1 not the token's.
    expect(await ids(scoped)).toEqual(['cam2']);
    expect(await ids(readOnlyAdmin)).toEqual(['cam1', 'cam2', 'cam3']);
    const patch = await call('/api/devices/cam1/recording', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${readOnlyAdmin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ maxAgeHours: 5 }),
    });
    expect(patch.status).toBe(403);
    expect(await patch.json()).toMatchObject({ detail: expect.stringMatching(/read-only/) });
    // A bearer request needs no CSRF header (a script, not a browser).
    const legacyPatch = await call('/api/devices/cam1/recording', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${legacy}`, 'content-type': 'application/json' },
      body: JSON.stringify({ maxAgeHours: 6 }),
    });
    expect(legacyPatch.status).toBe(200);
    // Removing the user revokes its tokens.
    await t.server.registry.users.add('tmp', 'viewer', 'tmp password');
    const tmp = (await tokens.create('tmp', { user: 'tmp' })).token;
    expect((await call('/api/devices', { headers: { authorization: `Bearer ${tmp}` } })).status).toBe(200);
    await t.server.registry.users.remove('tmp');
    expect((await call('/api/devices', { headers: { authorization: `Bearer ${tmp}` } })).status).toBe(401);
  });

  it('backs off repeated failed sign-ins per address and user name (429, Retry-After)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await signIn('root', `guess ${i} wrong`)).res.status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const held = await signIn('root', 'root password');
    expect(held.res.status).toBe(429);
    expect(Number(held.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user from the same address is not held back by root's failures.
    expect((await signIn('ann', 'ann password')).res.status).toBe(200);
  });

  it('tells on a first run (no user yet) how to create the first admin, in one line', async () => {
    const { lines, log } = captureLog();
    const fresh = await startTestServer({}, { log });
    try {
      const hints = lines.filter((l) => String(l.msg).includes('lookout user add <name> --admin'));
      expect(hints).toHaveLength(1);
      expect(hints[0]!.level).toBe(40);
    } finally {
      await fresh.close();
    }
  });

  it("refreshes a viewer's event snapshot when a grant changes, and ends its stream with `revoked` when the user goes", async () => {
    const users = t.server.registry.users;
    await users.add('eve', 'viewer', 'eve password');
    await users.grant('eve', 'cam1', { live: true, recordings: false });
    const eve = await signIn('eve', 'eve password');
    const events = await openEventStream(`${t.httpUrl}/api/events`, { cookie: eve.cookie });
    const first = await events.next('snapshot');
    expect(first.data.devices.map((d: { id: string }) => d.id)).toEqual(['cam1']);
    const seen = events.events.length;
    await users.grant('eve', 'cam3', { live: false, recordings: true });
    const second = await events.next('snapshot', () => true, { from: seen });
    expect(second.data.devices.map((d: { id: string }) => d.id)).toEqual(['cam1', 'cam3']);
    await users.remove('eve');
    const revoked = await events.next('revoked', () => true, { timeoutMs: 2000 });
    expect(revoked.data.reason).toBe('token-revoked');
    await waitFor(() => events.ended, { what: 'the stream to end' });
  });
});
