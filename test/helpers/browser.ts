import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Debian's Chromium driven by playwright-core (no browser download). The flags keep it off
 * the network (this machine has none) and let WebRTC use real host addresses instead of
 * mDNS names, so the media node can reach it.
 */
/** playwright-core gives the browser a fresh temporary profile of its own. */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** The slice of the web app's globals tests read (this project compiles without DOM types). */
interface WebAppGlobals {
  localStorage: { setItem(key: string, value: string): void };
  lookout: {
    players: Map<
      string,
      { pc?: { getStats(): Promise<Map<string, { type: string; kind?: string; framesDecoded?: number }>> } }
    >;
  };
}

/** Opens the web app at `base` with `token` and starts playing `deviceId`. */
export async function openViewer(
  browser: Browser,
  base: string,
  token: string,
  deviceId: string,
): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(base);
  await page.evaluate(
    (t) => (globalThis as unknown as WebAppGlobals).localStorage.setItem('lookout.token', t),
    token,
  );
  await page.reload();
  await page.locator(`button[data-device="${deviceId}"]`).click();
  return page;
}

/** Video frames the web app's player of `deviceId` has decoded so far. */
export function decodedFrames(page: Page, deviceId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const player = (globalThis as unknown as WebAppGlobals).lookout.players.get(id);
    if (!player?.pc) return 0;
    let n = 0;
    (await player.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded ?? 0;
    });
    return n;
  }, deviceId);
}
