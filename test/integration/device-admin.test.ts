import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge-config/index.js';
import type { IssuedDeviceDocument } from '../../http-contract/index.js';
import { closedWithin, startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const haveFfmpeg = requireTool('ffmpeg', ['-version']);

let t: TestServer;
let auth: Record<string, string>;

beforeAll(async () => {
  t = await startTestServer({ 'recording.segmentSeconds': 5, 'media.lingerMs': 0 });
  auth = { authorization: `Bearer ${(await t.server.registry.tokens.create('admin')).token}` };
});
afterAll(() => t?.close());

async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(`${t.httpUrl}${url}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Connects as the device the edge config describes. */
function connectWith(issued: IssuedDeviceDocument) {
  const { username, password, clientId } = issued.edgeConfig.mqtt;
  return t.connect({ username, password, clientId });
}

describe('device management over HTTP', () => {
  it('needs a token for every management route', async () => {
    for (const [method, url] of [
      ['POST', '/api/devices'],
      ['PATCH', '/api/devices/x'],
      ['POST', '/api/devices/x/rotate'],
      ['POST', '/api/devices/x/revoke'],
      ['DELETE', '/api/devices/x?recordings=keep'],
    ] as const) {
      const res = await fetch(`${t.httpUrl}${url}`, { method });
      expect(res.status, `${method} ${url}`).toBe(401);
    }
  });

  it('adds a device and answers its edge config once; the config logs in; duplicates and bad ids are coded', async () => {
    const added = await call('POST', '/api/devices', {
      id: 'porch',
      name: 'Porch',
      recording: { mode: 'on-demand', maxAgeHours: 12 },
    });
    expect(added.status).toBe(201);
    expect(added.headers.get('cache-control')).toBe('no-store');
    const issued = added.body as IssuedDeviceDocument;
    expect(issued.device).toMatchObject({
      id: 'porch',
      name: 'Porch',
      revoked: false,
      recording: { mode: 'on-demand', active: false, maxAgeHours: 12 },
    });
    const edge = parseEdgeConfig(issued.edgeConfig);
    expect(edge).toMatchObject({
      deviceId: 'porch',
      name: 'Porch',
      mqtt: { url: t.mqttUrl, username: 'porch' },
    });
    expect(edge.mqtt.wsUrl).toBe(`${t.wsUrl}`);
    const cam = await connectWith(issued);
    expect(cam.connected).toBe(true);
    await cam.endAsync();
    // The secret is nowhere else in the API.
    expect(JSON.stringify((await call('GET', '/api/devices/porch')).body)).not.toContain(edge.mqtt.password);

    expect((await call('POST', '/api/devices', { id: 'porch' })).body).toMatchObject({
      code: 'DEVICE_EXISTS',
    });
    expect((await call('POST', '/api/devices', { id: 'porch' })).status).toBe(409);
    const bad = await call('POST', '/api/devices', { id: 'Bad Id' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'DEVICE_ID_INVALID' });
    const extra = await call('POST', '/api/devices', { id: 'x1', secret: 'mine' });
    expect(extra).toMatchObject({ status: 400, body: { code: 'BODY_INVALID' } });
  });

  it('renames a device', async () => {
    await call('POST', '/api/devices', { id: 'gate' });
    const renamed = await call('PATCH', '/api/devices/gate', { name: '  Back gate ' });
    expect(renamed).toMatchObject({ status: 200, body: { id: 'gate', name: 'Back gate' } });
    expect((await call('GET', '/api/devices/gate')).body.name).toBe('Back gate');
    expect(await call('PATCH', '/api/devices/gate', { name: '   ' })).toMatchObject({
      status: 400,
      body: { code: 'DEVICE_NAME_INVALID' },
    });
    expect(await call('PATCH', '/api/devices/nobody', { name: 'x' })).toMatchObject({
      status: 404,
      body: { code: 'DEVICE_NOT_FOUND' },
    });
  });

  it('rotate disconnects the connected device and answers a new edge config that works', async () => {
    const first = (await call('POST', '/api/devices', { id: 'rot' })).body as IssuedDeviceDocument;
    const cam = await connectWith(first);
    const rotated = await call('POST', '/api/devices/rot/rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const second = rotated.body as IssuedDeviceDocument;
    expect(second.edgeConfig.mqtt.password).not.toBe(first.edgeConfig.mqtt.password);
    await closedWithin(cam, 5_000);
    await expect(connectWith(first)).rejects.toThrow();
    const again = await connectWith(second);
    expect(again.connected).toBe(true);
    await again.endAsync();
  });

  it('revoke disconnects the connected device and refuses it from then on', async () => {
    const issued = (await call('POST', '/api/devices', { id: 'rev' })).body as IssuedDeviceDocument;
    const cam = await connectWith(issued);
    const revoked = await call('POST', '/api/devices/rev/revoke');
    expect(revoked).toMatchObject({ status: 200, body: { id: 'rev', revoked: true } });
    await closedWithin(cam, 5_000);
    await expect(connectWith(issued)).rejects.toThrow();
    expect((await call('POST', '/api/devices/nobody/revoke')).status).toBe(404);
  });

  it('deletes a revoked device (disconnecting it), and its id can be added again with a new secret', async () => {
    const issued = (await call('POST', '/api/devices', { id: 'again' })).body as IssuedDeviceDocument;
    const cam = await connectWith(issued);
    const deleted = await call('DELETE', '/api/devices/again?recordings=delete');
    expect(deleted).toMatchObject({
      status: 200,
      body: { device: { id: 'again' }, recordings: 'delete', deletedSegments: 0 },
    });
    await closedWithin(cam, 5_000);
    expect((await call('GET', '/api/devices/again')).status).toBe(404);
    expect((await call('DELETE', '/api/devices/again?recordings=keep')).status).toBe(404);
    await expect(connectWith(issued)).rejects.toThrow();

    const second = (await call('POST', '/api/devices', { id: 'again' })).body as IssuedDeviceDocument;
    await call('POST', '/api/devices/again/revoke');
    expect((await call('DELETE', '/api/devices/again?recordings=keep')).status).toBe(200);
    const third = await call('POST', '/api/devices', { id: 'again' });
    expect(third.status).toBe(201);
    await expect(connectWith(second)).rejects.toThrow();
    const cam3 = await connectWith(third.body as IssuedDeviceDocument);
    await cam3.endAsync();
    expect((await call('DELETE', '/api/devices/again')).body).toMatchObject({ code: 'QUERY_INVALID' });
  });
});

describe.skipIf(!haveFfmpeg)('deleting a recorded camera', () => {
  const recordingsDir = () => path.join(t.dataDir, 'recordings');

  /** Starts `id` recording continuously and waits for a finished segment on disk. */
  async function recorded(id: string) {
    await t.startCamera(id, { video: { fps: 10, keyframeIntervalSeconds: 1 } });
    const policy = await call('PATCH', `/api/devices/${id}/recording`, { mode: 'continuous' });
    expect(policy.status).toBe(200);
    await waitFor(
      async () =>
        (await t.server.registry.recordings.between(id, 0, Date.now() + 1000)).filter(
          (s) => s.state === 'complete',
        ).length >= 1,
      { what: `a finished segment of ${id}`, timeoutMs: 60_000 },
    );
    return t.server.registry.recordings.between(id, 0, Date.now() + 1000);
  }

  it('with its recordings: recorder stopped, files and index rows gone, agent refused', async () => {
    const segments = await recorded('doomed');
    for (const s of segments) expect(existsSync(path.join(recordingsDir(), s.path))).toBe(true);
    const res = await call('DELETE', '/api/devices/doomed?recordings=delete');
    expect(res.status).toBe(200);
    expect(res.body.deletedSegments).toBeGreaterThanOrEqual(segments.length);
    expect(t.server.recordings.recorder('doomed')).toBeUndefined();
    expect(await t.server.registry.recordings.between('doomed', 0, Date.now() + 60_000)).toEqual([]);
    expect(existsSync(path.join(recordingsDir(), 'doomed'))).toBe(false);
    await waitFor(() => !t.server.broker.isOnline('doomed'), { what: 'doomed offline' });
    await waitFor(() => !t.server.media.isOnline('doomed'), { what: 'the media session of doomed ended' });
    expect((await call('GET', '/api/devices/doomed/recordings?from=0')).status).toBe(404);
  }, 90_000);

  it('keeping its recordings: recorder stopped, files and index rows stay, listable and downloadable', async () => {
    const before = await recorded('kept');
    const res = await call('DELETE', '/api/devices/kept?recordings=keep');
    expect(res).toMatchObject({ status: 200, body: { recordings: 'keep', deletedSegments: 0 } });
    expect(t.server.recordings.recorder('kept')).toBeUndefined();
    await waitFor(() => !t.server.broker.isOnline('kept'), { what: 'kept offline' });
    const after = await t.server.registry.recordings.between('kept', 0, Date.now() + 60_000);
    const finished = before.filter((s) => s.state === 'complete').map((s) => s.id);
    expect(after.map((s) => s.id)).toEqual(expect.arrayContaining(finished));
    // The segment being written when the device was deleted is finished (or, empty, dropped), not left `writing`.
    expect(after.every((s) => s.state === 'complete')).toBe(true);
    const files = readdirSync(path.join(recordingsDir(), 'kept')).filter((f) => f.endsWith('.mp4'));
    expect(files.length).toBe(after.length);
    const listing = await call('GET', `/api/devices/kept/recordings?from=${new Date(0).toISOString()}`);
    expect(listing.status).toBe(200);
    expect(listing.body.segments.length).toBe(after.length);
    const first = after[0]!;
    const file = await fetch(`${t.httpUrl}/api/devices/kept/recordings/${first.id}.mp4`, { headers: auth });
    expect(file.status).toBe(200);
    expect((await file.arrayBuffer()).byteLength).toBe(first.bytes);
  }, 90_000);
});
