import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzRandom } from '../helpers/random.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const SDPFRAG = 'application/trickle-ice-sdpfrag';

/**
 * WHEP sessions over real HTTP against a real server, with cam1 logged in over MQTT (it never
 * answers the offer, which a WHEP session does not need): who may change or end a session
 * (issue 9, item 11), what a malformed trickle body (item 15) or offer (item 16) gets.
 */
describe('WHEP sessions over HTTP', () => {
  let t: TestServer;
  let cam: MqttClient;
  const tokens = {} as Record<'alice' | 'bob', { id: string; token: string }>;
  const players: WhepClient[] = [];

  beforeAll(async () => {
    // No camera streams here, so players send no RTCP: keep their sessions however slow the machine.
    t = await startTestServer({
      'media.viewerTimeoutMs': 600_000,
      // Small bounds so the test can reach them; every other test here opens one session at a time.
      'media.maxViewersPerToken': 2,
      'media.maxViewers': 3,
    });
    const secret = await t.addDevice('cam1');
    for (const name of ['alice', 'bob'] as const) {
      const { token, info } = await t.server.registry.tokens.create(name);
      tokens[name] = { id: info.id, token };
    }
    cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    await waitFor(() => t.server.media.isOnline('cam1'), { what: 'cam1 online' });
  });
  afterAll(async () => {
    await Promise.all(players.map((p) => p.pc.close()));
    await cam?.endAsync();
    await t?.close();
  });

  /** A werift player that has opened a WHEP session as `who`. */
  const play = async (who: 'alice' | 'bob') => {
    const player = new WhepClient(t.httpUrl, tokens[who].token);
    players.push(player);
    const res = await player.play('cam1');
    expect(res.status, await res.clone().text()).toBe(201);
    return player;
  };
  const request = (method: string, path: string, who: 'alice' | 'bob', body?: string) =>
    fetch(`${t.httpUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who].token}`,
        ...(body !== undefined ? { 'content-type': SDPFRAG } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    });
  const open = () => t.server.media.sessionOwners();

  it("refuses PATCH and DELETE of another token's session with 404, as if it did not exist", async () => {
    const player = await play('alice');
    const location = player.location!;
    const candidate = 'a=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\n';
    for (const [method, body] of [
      ['PATCH', candidate],
      ['DELETE', undefined],
    ] as const) {
      const res = await request(method, location, 'bob', body);
      expect(res.status, method).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(await res.json()).toMatchObject({ code: 'WHEP_SESSION_NOT_FOUND' });
    }
    expect(open().has(`t:${tokens.alice.id}`), 'alice still has her session').toBe(true);
    // The owner may.
    const patched = await request('PATCH', location, 'alice', candidate);
    expect(patched.status, await patched.text()).toBe(204);
    const deleted = await request('DELETE', location, 'alice');
    expect(deleted.status, await deleted.text()).toBe(200);
    expect(open().has(`t:${tokens.alice.id}`)).toBe(false);
    player.location = undefined;
  });

  it('answers a malformed trickle body with 400 and a code, never 5xx (seeded fuzz)', {
    timeout: 60_000,
  }, async () => {
    const player = await play('alice');
    const location = player.location!;
    const bad = await request('PATCH', location, 'alice', 'a=candidate:not a candidate\r\n');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
    const problem = (await bad.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ code: 'CANDIDATE_INVALID' });
    expect(JSON.stringify(problem)).not.toMatch(/\n\s+at /); // no stack trace

    const random = fuzzRandom(9_15).next;
    const pieces = [
      'a=candidate:',
      'candidate:',
      '1 ',
      '1 1 udp 2122260223 ',
      '192.0.2.1 ',
      '::1 ',
      'x.local ',
      '61764 ',
      'typ host',
      ' raddr ',
      ' rport 99999',
      'a=end-of-candidates',
      'a=ice-ufrag:EsAw',
      'm=audio 9 RTP/AVP 0',
      '\r\n',
      '\n',
      ' ',
      '\u00ff',
      '\u0000',
      '',
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 150; i++) {
      const body = Array.from(
        { length: 1 + Math.floor(random() * 10) },
        () => pieces[Math.floor(random() * pieces.length)],
      ).join('');
      const res = await request('PATCH', location, 'alice', body);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
    }
    expect([...statuses.keys()].every((s) => s === 204 || s === 400)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(0);
    // However many PATCHes, a session takes at most 128 candidates in all.
    const batch = (from: number) =>
      Array.from(
        { length: 40 },
        (_, i) =>
          `a=candidate:${from + i} 1 udp 1 192.0.2.${1 + ((from + i) % 250)} ${1000 + from + i} typ host`,
      ).join('\r\n');
    let limited: Response | undefined;
    for (let n = 0; n < 10 && !limited; n++) {
      const res = await request('PATCH', location, 'alice', batch(n * 40));
      if (res.status === 204) continue;
      limited = res;
    }
    expect(limited?.status).toBe(400);
    expect(await limited!.json()).toMatchObject({ code: 'CANDIDATE_LIMIT' });
    expect(open().has(`t:${tokens.alice.id}`)).toBe(true); // the session survived its bad input
    expect((await request('DELETE', location, 'alice')).status).toBe(200);
    player.location = undefined;
  });

  it.each([
    ['v=0 alone', 'v=0'],
    ['v=0 and garbage', 'v=0\r\nhello world\r\n'],
    ['no media section', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'],
    ['binary after v=0', 'v=0\r\n\u0001\u0002\u0003'],
  ])('answers a bogus offer (%s) with 400 SDP_INVALID, not NO_COMMON_CODEC', async (_name, sdp) => {
    const before = open().size;
    const res = await fetch(`${t.httpUrl}/whep/cam1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.bob.token}`, 'content-type': 'application/sdp' },
      body: sdp,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'SDP_INVALID', detail: expect.stringMatching(/SDP/) });
    expect(open().size).toBe(before);
  });

  it('bounds the sessions of one token (429) and of everyone (503), and frees places on DELETE', {
    timeout: 60_000,
  }, async () => {
    const post = async (who: 'alice' | 'bob') => {
      const player = new WhepClient(t.httpUrl, tokens[who].token);
      players.push(player);
      return { player, res: await player.play('cam1') };
    };
    // Concurrent POSTs: sessions still being set up count, so exactly two of alice's three pass.
    const first = await Promise.all([post('alice'), post('alice'), post('alice')]);
    expect(first.map((p) => p.res.status).sort()).toEqual([201, 201, 429]);
    const refused = first.find((p) => p.res.status === 429)!.res;
    expect(await refused.json()).toMatchObject({ code: 'WHEP_TOKEN_LIMIT' });
    // Another token still gets in, up to the total of three.
    const bob = await post('bob');
    expect(bob.res.status).toBe(201);
    const full = await post('bob');
    expect(full.res.status).toBe(503);
    expect(full.res.headers.get('retry-after')).toBe('5');
    expect(await full.res.json()).toMatchObject({ code: 'WHEP_CAPACITY' });
    // DELETE gives the place back.
    await bob.player.stop();
    expect((await post('bob')).res.status).toBe(201);
    for (const p of [...first, bob]) if (p.res.status === 201) await p.player.stop();
    for (const p of players) if (p.location) await p.stop();
    expect(open().size).toBe(0);
  });

  it('still answers a real offer with an answer', async () => {
    const player = await play('bob');
    expect(player.location).toMatch(/^\/whep\/cam1\/sessions\//);
    await player.stop();
    await waitFor(() => !open().has(`t:${tokens.bob.id}`), { what: "bob's session to end" });
  });
});
