import { fileURLToPath } from 'node:url';
import { buildWeb, webStaleReason } from '../../scripts/build-web.mjs';

/**
 * vitest globalSetup: the servers the tests start serve web/dist/, so it is rebuilt first when
 * a file under web/src changed (about a second; nothing when it is current), and the browser
 * tests always drive the sources as they are.
 */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  if (webStaleReason(root) === undefined) return;
  if ((await buildWeb(root)) !== 0) throw new Error('the web app does not build (see esbuild errors above)');
}
