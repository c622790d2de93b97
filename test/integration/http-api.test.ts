import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait-for.js';

let t: TestServer;
let token: string;

beforeAll(async () => {
  t = await startTestServer();
  token = (await t.server.registry.tokens.create('test')).token;
});
afterAll(() => t.close());

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.httpUrl}${path}`, { headers });

describe('HTTP API', () => {
  it('GET /healthz answers without a token', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: 'test' });
  });

  it('GET /api/devices needs a bearer token', async () => {
    const missing = await get('/api/devices');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await missing.json()).toMatchObject({ code: 'TOKEN_MISSING' });
    const wrong = await get('/api/devices', { authorization: 'Bearer lkt_nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('lists devices with online state and last seen', async () => {
    const secret = await t.addDevice('cam1');
    await t.addDevice('cam2');
    const cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    const auth = { authorization: `Bearer ${token}` };
    const body = await waitFor(async () => {
      const b = (await (await get('/api/devices', auth)).json()) as {
        devices: Array<{ id: string; online: boolean }>;
      };
      return b.devices.find((d) => d.id === 'cam1')?.online ? b : undefined;
    });
    expect(body.devices).toEqual([
      {
        id: 'cam1',
        name: 'cam1',
        online: true,
        lastSeenAt: expect.any(String),
        createdAt: expect.any(String),
        revoked: false,
        recording: { mode: 'off', active: false, maxAgeHours: null },
      },
      {
        id: 'cam2',
        name: 'cam2',
        online: false,
        lastSeenAt: null,
        createdAt: expect.any(String),
        revoked: false,
        recording: { mode: 'off', active: false, maxAgeHours: null },
      },
    ]);
    expect(JSON.stringify(body)).not.toMatch(/secret|hash|lkd_/);
    const one = await get('/api/devices/cam1', auth);
    expect(await one.json()).toMatchObject({ id: 'cam1', online: true });
    const none = await get('/api/devices/nope', auth);
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await cam.endAsync();
  });

  it('serves the web app and answers unknown routes with a problem', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Lookout</title>');
    const missing = await get('/no/such/thing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('refuses WebSocket upgrades on paths other than /mqtt', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${t.wsUrl.replace('/mqtt', '/other')}`, 'mqtt');
    const outcome = await new Promise<string>((resolve) => {
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
    ws.terminate();
  });
});
