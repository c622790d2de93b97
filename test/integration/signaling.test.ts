import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

let t: TestServer;
let cam: MqttClient;
let token: string;
const received: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  t = await startTestServer({ 'media.answerTimeoutMs': 1500 });
  const secret = await t.addDevice('cam1');
  token = (await t.server.registry.tokens.create('test')).token;
  cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
  cam.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString())));
  await cam.subscribeAsync('lookout/cam1/down/signal', { qos: 1 });
});
afterAll(async () => {
  await cam.endAsync();
  await t.close();
});

const send = (payload: string | Buffer) => cam.publishAsync('lookout/cam1/up/signal', payload, { qos: 1 });
const nextOf = (type: string, after = 0) =>
  waitFor(() => received.slice(after).find((m) => m.type === type), { what: `a ${type} message` });

describe('signaling from a misbehaving device', () => {
  it.each([
    ['not JSON', '{{{', 'BAD_MESSAGE'],
    ['an array', '[1,2,3]', 'BAD_MESSAGE'],
    ['a newer protocol version', JSON.stringify({ v: 9, type: 'hello' }), 'UNSUPPORTED_VERSION'],
    ['an unknown type', JSON.stringify({ v: 1, type: 'selfie' }), 'BAD_MESSAGE'],
    [
      'an answer nobody asked for',
      JSON.stringify({ v: 1, type: 'answer', session: 'abcdefgh', sdp: 'v=0\r\ns=-\r\nt=0 0\r\n' }),
      'UNKNOWN_SESSION',
    ],
  ])('answers %s with an error message', async (_what, payload, code) => {
    const before = received.length;
    await send(payload);
    expect(await nextOf('error', before)).toMatchObject({ v: 1, type: 'error', code });
  });

  it('answers an oversized message with BAD_MESSAGE, without parsing it', async () => {
    const before = received.length;
    await send(Buffer.alloc(100_000, 0x7b));
    expect(await nextOf('error', before)).toMatchObject({
      code: 'BAD_MESSAGE',
      message: expect.stringContaining('exceeds'),
    });
  });

  it('is still fully working afterwards: offers on demand, rejects a broken answer, retries', async () => {
    const viewer = new WhepClient(t.httpUrl, token);
    const before = received.length;
    expect((await viewer.play('cam1')).status).toBe(201);
    const offer = await nextOf('offer', before);
    expect(offer).toMatchObject({
      v: 1,
      session: expect.any(String),
      sdp: expect.stringMatching(/^v=0/),
      // The embedded TURN server, with credentials for this device only.
      iceServers: [
        {
          urls: [
            expect.stringMatching(/^turn:127\.0\.0\.1:\d+\?transport=udp$/),
            expect.stringMatching(/^turn:127\.0\.0\.1:\d+\?transport=tcp$/),
          ],
          username: expect.stringMatching(/^\d+:cam1:1$/), // expiry, device, secret generation
          credential: expect.any(String),
        },
      ],
      trickle: false,
    });
    expect(offer.sdp).toMatch(/a=recvonly/);
    expect(offer.sdp).toMatch(/H264\/90000/);
    // An answer that parses as a message but not as SDP:
    const mark = received.length;
    await send(
      JSON.stringify({ v: 1, type: 'answer', session: offer.session, sdp: 'v=0\r\nthis is not sdp' }),
    );
    expect(await nextOf('error', mark)).toMatchObject({ session: offer.session, code: 'SDP_REJECTED' });
    const retry = await waitFor(
      () => received.slice(mark).find((m) => m.type === 'offer' && m.session !== offer.session),
      { what: 'a new offer' },
    );
    // A camera that never answers gets a bye (timeout) and yet another offer.
    await waitFor(
      () => received.find((m) => m.type === 'bye' && m.session === retry.session && m.reason === 'timeout'),
      {
        timeoutMs: 8000,
        what: 'bye timeout',
      },
    );
    await viewer.stop();
  });

  it('disconnects a device sending a packet larger than the MQTT limit, and lets it back in', async () => {
    const { closedWithin } = await import('../helpers/server.js');
    const closed = closedWithin(cam, 3000);
    cam.publish('lookout/cam1/up/signal', Buffer.alloc(300_000, 0x20));
    await closed;
    cam.end(true);
    const secret = (await t.server.registry.devices.rotate('cam1')).secret;
    cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    expect(cam.connected).toBe(true);
  });
});

describe('WHEP errors', () => {
  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${t.httpUrl}${path}`, { method: 'POST', body, headers });
  const auth = () => ({ authorization: `Bearer ${token}` });

  it('answers each bad request with the right status and a problem document', async () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n';
    const cases: Array<[Promise<Response>, number, string]> = [
      [post('/whep/cam1', sdp, { 'content-type': 'application/sdp' }), 401, 'TOKEN_MISSING'],
      [post('/whep/cam1', sdp, { 'content-type': 'text/plain', ...auth() }), 415, 'WHEP_CONTENT_TYPE'],
      [post('/whep/cam1', 'hello', { 'content-type': 'application/sdp', ...auth() }), 400, 'SDP_INVALID'],
      [post('/whep/nobody', sdp, { 'content-type': 'application/sdp', ...auth() }), 404, 'DEVICE_NOT_FOUND'],
      [
        fetch(`${t.httpUrl}/whep/cam1/sessions/nope`, { method: 'DELETE', headers: auth() }),
        404,
        'WHEP_SESSION_NOT_FOUND',
      ],
      [
        fetch(`${t.httpUrl}/whep/cam1/sessions/nope`, {
          method: 'PATCH',
          body: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host',
          headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...auth() },
        }),
        404,
        'WHEP_SESSION_NOT_FOUND',
      ],
    ];
    for (const [response, status, code] of cases) {
      const res = await response;
      expect(res.status, code).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(await res.json()).toMatchObject({ code });
    }
  });

  it('answers 503 with Retry-After for an offline camera', async () => {
    await t.addDevice('sleepy');
    const res = await post('/whep/sleepy', 'v=0\r\n', { 'content-type': 'application/sdp', ...auth() });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ code: 'DEVICE_OFFLINE' });
  });

  it('allows cross-origin players (CORS preflight)', async () => {
    const res = await fetch(`${t.httpUrl}/whep/cam1`, {
      method: 'OPTIONS',
      headers: { origin: 'https://player.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(res.headers.get('accept-post')).toBe('application/sdp');
  });
});
