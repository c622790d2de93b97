import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../cli/server.js';
import { loadConfig } from '../../config/index.js';
import { launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { testLogger } from '../helpers/log.js';
import { addAdmin, addAdminWithCli, signInAsAdmin } from '../helpers/sign-in.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 12 item 4: the page learns presence and server health from GET /api/events; a server
// that went away shows within 3 s, and the page recovers by itself when it is back.
const ready = requireTool('chromium', ['--version']);

/** When the page last changed its health display (its own clock: the machine's, like Date.now here). */
const healthChangedAt = (page: Page) =>
  page.evaluate(
    () => (globalThis as unknown as { lookout: { healthChangedAt: number } }).lookout.healthChangedAt,
  );

describe.runIf(ready)('live state in the web app', () => {
  const tmp = tempDir();
  let server: RunningServer | undefined;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let port = 0;
  let secret: string;
  let camera: MqttClient | undefined;

  /** `lookout serve` in this process on the same data directory (and, after the first, the same port). */
  const start = async () => {
    const config = loadConfig({
      flags: {
        dataDir: tmp.dir,
        'http.host': '127.0.0.1',
        'http.port': port,
        'mqtt.host': '127.0.0.1',
        'mqtt.port': 0,
        'turn.mode': 'off',
        'media.workers': 0,
      },
    });
    server = await startServer(config, testLogger(), 'test');
    port = server.http.address().port;
  };
  const health = () => page.locator('#health').textContent();
  const presence = () => page.locator('tr[data-device="cam1"] td[data-presence]').textContent();

  beforeAll(async () => {
    await start();
    secret = (await server!.registry.devices.add('cam1')).secret;
    await addAdmin(server!.registry.users);
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    // The session lives in the registry: it outlasts the server's restart below.
    await signInAsAdmin(page, `http://127.0.0.1:${port}/`);
  }, 60_000);

  afterAll(async () => {
    await camera?.endAsync(true);
    await chromium?.close();
    await server?.close();
    tmp.remove();
  });

  it('shows presence as the camera connects and disconnects, without polling', async () => {
    await waitFor(async () => (await health())?.startsWith('server ok'), { what: 'server ok' });
    expect(await presence()).toBe('offline');
    const mqttPort = server!.broker.address('tcp')!.port;
    camera = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      username: 'cam1',
      password: secret,
      clientId: 'cam1',
      reconnectPeriod: 0,
    });
    await waitFor(async () => (await presence()) === 'online', { what: 'cam1 online in the page' });
    await camera.endAsync();
    camera = undefined;
    await waitFor(async () => (await presence()) === 'offline', { what: 'cam1 offline in the page' });
  });

  it('shows a stopped server within 3 s and recovers when it is back', { timeout: 60_000 }, async () => {
    const stoppedAt = Date.now();
    const stopping = server!.close();
    await waitFor(async () => (await health()) === 'server unreachable', {
      timeoutMs: 10_000,
      what: '"server unreachable"',
    });
    // Timed by the page itself: playwright's polling adds its own latency under load.
    expect((await healthChangedAt(page)) - stoppedAt).toBeLessThan(3000);
    expect(await presence()).toBe('unknown'); // no stale "online" for a server that is gone
    await stopping;
    server = undefined;
    await start();
    // EventSource reconnects by itself (the server asks for 1 s); the new snapshot says it is back.
    await waitFor(async () => (await health())?.startsWith('server ok'), {
      timeoutMs: 15_000,
      what: 'the page back to "server ok"',
    });
    await waitFor(async () => (await presence()) === 'offline', { what: 'presence shown again' });
  });
});

describe.runIf(ready)('a server that hangs (SIGSTOP): the heartbeat stops', () => {
  let rig: CameraRig;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    // One process (no media workers) so SIGSTOP freezes the whole server.
    rig = await startCameraRig({ serveEnv: { LOOKOUT_MEDIA_WORKERS: '0', LOOKOUT_TURN_MODE: 'off' } });
    await addAdminWithCli(rig.cli);
    chromium = await launchChromium();
    page = await chromium.browser.newPage();
    await page.goto(rig.base);
    await signInAsAdmin(page, rig.base);
  }, 60_000);

  afterAll(async () => {
    rig?.serve.child.kill('SIGCONT');
    await chromium?.close();
    await rig?.close();
  });

  it('shows the server unreachable within 3 s of its last heartbeat and up again when it resumes', async () => {
    const health = () => page.locator('#health').textContent();
    await waitFor(async () => (await health())?.startsWith('server ok'), {
      what: 'server ok',
      timeoutMs: 10_000,
    });
    const pid = rig.serve.child.pid!;
    const frozenAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    try {
      // Heartbeats every 1 s; the page gives up after 2.5 of them without a word.
      await waitFor(async () => (await health()) === 'server unreachable', {
        timeoutMs: 10_000,
        what: '"server unreachable"',
      });
      expect((await healthChangedAt(page)) - frozenAt).toBeLessThan(3000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => (await health())?.startsWith('server ok'), {
      timeoutMs: 15_000,
      what: 'the page back to "server ok"',
    });
  });
});
