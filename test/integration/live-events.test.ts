import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLog } from '../helpers/log.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openEventStream, type SseConnection } from '../helpers/sse-client.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

// Issue 12 item 4: GET /api/events, the live state pushed to the page (docs/http-api.md).
describe('GET /api/events', () => {
  let t: TestServer;
  const capture = captureLog('debug');
  const open: SseConnection[] = [];
  let token: string;
  let tokenId: string;

  beforeAll(async () => {
    t = await startTestServer(
      { 'http.events.heartbeatMs': 200, 'http.events.maxPerToken': 2, 'http.events.maxStreams': 3 },
      { log: capture.log },
    );
    ({
      token,
      info: { id: tokenId },
    } = await t.server.registry.tokens.create('events'));
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  const stream = async (secret = token) => {
    const c = await openEventStream(`${t.httpUrl}/api/events?access_token=${encodeURIComponent(secret)}`);
    open.push(c);
    return c;
  };
  /** Closes `c` and waits until the server has counted it out. */
  const release = async (c: SseConnection) => {
    const before = t.server.http.eventStreams();
    c.close();
    await waitFor(() => t.server.http.eventStreams() < before, { what: 'the stream counted out' });
  };

  it('refuses a request without a valid token', async () => {
    const missing = await openEventStream(`${t.httpUrl}/api/events`);
    await waitFor(() => missing.ended, { what: 'the refusal' });
    expect(missing.status).toBe(401);
    expect(missing.problem).toMatchObject({ code: 'TOKEN_MISSING' });
    const wrong = await stream('not-a-token');
    await waitFor(() => wrong.ended, { what: 'the refusal' });
    expect(wrong.problem).toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('sends a snapshot, then presence as a device connects and disconnects over MQTT, and heartbeats', async () => {
    const secret = await t.addDevice('cam-a');
    const c = await stream();
    expect(c.status).toBe(200);
    const snapshot = await c.next('snapshot');
    expect(snapshot.data).toMatchObject({
      server: { version: 'test' },
      heartbeatMs: 200,
      devices: [
        {
          id: 'cam-a',
          name: 'cam-a',
          online: false,
          lastSeenAt: null,
          revoked: false,
          recording: { state: 'off' },
        },
      ],
    });
    expect(c.events[0]?.event).toBe('snapshot');

    const device = await t.connect({ username: 'cam-a', password: secret, clientId: 'cam-a' });
    const online = await c.next('presence', (d) => d.id === 'cam-a' && d.online === true);
    expect(Date.parse(online.data.at)).toBeGreaterThan(Date.parse(snapshot.data.at) - 1);
    const from = c.events.indexOf(online);
    await device.endAsync();
    await c.next('presence', (d) => d.id === 'cam-a' && d.online === false, { from });

    const beats = c.events.filter((e) => e.event === 'heartbeat').length;
    await waitFor(() => c.events.filter((e) => e.event === 'heartbeat').length >= beats + 2, {
      what: 'two more heartbeats',
    });
    await release(c);
  });

  it('sends a new snapshot when the device list changes', async () => {
    const c = await stream();
    await c.next('snapshot');
    t.addDevice('cam-b');
    const next = await c.next('snapshot', (d) => d.devices.some((x: { id: string }) => x.id === 'cam-b'));
    expect(next.data.devices.map((x: { id: string }) => x.id)).toEqual(['cam-a', 'cam-b']);
    await release(c);
  });

  it('bounds streams per token (429) and in all (503), logging the refusal', async () => {
    const other = (await t.server.registry.tokens.create('other')).token;
    const [a, b] = [await stream(), await stream()];
    await Promise.all([a.next('snapshot'), b.next('snapshot')]);
    const third = await stream();
    await waitFor(() => third.ended, { what: 'the per-token refusal' });
    expect(third.status).toBe(429);
    expect(third.problem).toMatchObject({ code: 'EVENTS_LIMIT' });
    const c = await stream(other);
    await c.next('snapshot');
    const fourth = await stream(other);
    await waitFor(() => fourth.ended, { what: 'the total refusal' });
    expect(fourth.status).toBe(503);
    expect(capture.lines.some((l) => l.msg === 'event stream refused: too many open for this token')).toBe(
      true,
    );
    expect(capture.lines.some((l) => l.msg === 'event stream refused: too many open in all')).toBe(true);
    // A slot freed is a slot again.
    await release(a);
    const again = await stream();
    await again.next('snapshot');
    for (const s of [b, c, again]) await release(s);
  });

  it('sends `revoked` and ends the stream when its token is revoked; the token then opens nothing', async () => {
    const { token: doomed, info } = await t.server.registry.tokens.create('doomed');
    const c = await stream(doomed);
    const kept = await stream();
    await Promise.all([c.next('snapshot'), kept.next('snapshot')]);
    await t.server.registry.tokens.revoke(info.id);
    const revoked = await c.next('revoked');
    expect(revoked.data).toMatchObject({ reason: 'token-revoked' });
    await waitFor(() => c.ended, { what: 'the stream ended' });
    expect(kept.ended).toBe(false);
    const beats = kept.events.filter((e) => e.event === 'heartbeat').length;
    await waitFor(() => kept.events.filter((e) => e.event === 'heartbeat').length > beats, {
      what: 'the other stream alive',
    });
    const retry = await stream(doomed);
    await waitFor(() => retry.ended, { what: 'the refusal' });
    expect(retry.status).toBe(401);
    await release(kept);
  });

  it.runIf(hasFfmpeg)(
    'sends recording activity as a camera starts being recorded, then stops',
    { timeout: 150_000 },
    async () => {
      const c = await stream();
      await c.next('snapshot');
      const agent = await t.startCamera('cam-rec');
      await c.next('presence', (d) => d.id === 'cam-rec' && d.online);
      await t.server.registry.devices.setRecording('cam-rec', { mode: 'continuous' });
      t.server.recordings.refresh('cam-rec');
      // The change comes as a `recording` event, or inside a fresh snapshot when the device list
      // changed at the same time (the camera was just added): either says what the page must show.
      const shows = (state: string, from = 0) =>
        waitFor(
          () =>
            c.events
              .slice(from)
              .find(
                (e) =>
                  (e.event === 'recording' && e.data.id === 'cam-rec' && e.data.state === state) ||
                  (e.event === 'snapshot' &&
                    (e.data.devices as Array<{ id: string; recording: { state: string } }>).some(
                      (d) => d.id === 'cam-rec' && d.recording.state === state,
                    )),
              ),
          { timeoutMs: 90_000, what: `cam-rec shown ${state}` },
        );
      const recording = await shows('recording');
      expect(Date.parse(recording.data.at)).not.toBeNaN();
      await t.server.registry.devices.setRecording('cam-rec', { mode: 'off' });
      t.server.recordings.refresh('cam-rec');
      await shows('off', c.events.indexOf(recording) + 1);
      await agent.close();
      await release(c);
    },
  );

  it('never logs the token of a query string', async () => {
    expect(tokenId).toBeTruthy();
    const text = JSON.stringify(capture.lines);
    expect(text).not.toContain(token);
    // The raw request line is where a careless log would have it.
    await new Promise<void>((resolve) =>
      http.get(`${t.httpUrl}/nope?access_token=${token}`, (res) => res.resume().on('end', resolve)),
    );
    expect(JSON.stringify(capture.lines)).not.toContain(token);
  });
});
