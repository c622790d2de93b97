import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedFrames, launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { addAdminWithCli, signInAsAdmin } from '../helpers/sign-in.js';
import { selfSignedCert } from '../helpers/tls.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

// Issue 12 item 7: the web app and WHEP over HTTPS (`http.tls`), a self-signed certificate
// made here, in Debian's Chromium told to accept it.
const ready =
  requireTool('ffmpeg', ['-version']) &&
  requireTool('chromium', ['--version']) &&
  requireTool('openssl', ['version']);

describe.runIf(ready)('the web app over HTTPS', () => {
  const tmp = tempDir();
  let rig: CameraRig;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(path.join(tmp.dir, 'tls'));
    const { certFile, keyFile } = selfSignedCert(path.join(tmp.dir, 'tls'));
    rig = await startCameraRig({
      serveEnv: { LOOKOUT_HTTP_TLS_CERT: certFile, LOOKOUT_HTTP_TLS_KEY: keyFile, LOOKOUT_TURN_MODE: 'off' },
      video: { width: 320, height: 180, bitrateKbps: 300 },
    });
    rig.startAgent();
    await addAdminWithCli(rig.cli);
    chromium = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await rig?.close();
    tmp.remove();
  }, 60_000);

  it('loads over https:// and plays a camera through WHEP', { timeout: 90_000 }, async () => {
    const base = rig.base.replace(/^http:/, 'https:');
    page = await chromium.browser.newPage({ ignoreHTTPSErrors: true });
    const response = await page.goto(base);
    expect(response?.status()).toBe(200);
    expect(page.url()).toMatch(/^https:\/\//);
    // The session cookie is Secure under HTTPS: signing in through the form proves the browser keeps it.
    await signInAsAdmin(page, base);
    await rig.waitOnline();
    await page.reload();
    await waitFor(async () => (await page.locator('#health').textContent())?.includes('server ok'), {
      what: 'the page sees the server',
    });
    await page.locator('button[data-device="cam1"]').click();
    await waitFor(async () => (await decodedFrames(page, 'cam1')) > 20, {
      timeoutMs: 40_000,
      what: 'decoded frames over HTTPS',
    });
    // Plain HTTP is not served on the port: the browser gets no page.
    const plain = await chromium.browser.newPage();
    await expect(plain.goto(rig.base)).rejects.toThrow();
    await plain.close();
  });
});
