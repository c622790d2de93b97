import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LookoutError } from '../core/errors.js';

/**
 * The built browser app (web/dist/, bundled from web/src by `npm run build`), whether the server
 * runs from source (api/) or from the build (dist/api/). Throws WEB_APP_NOT_BUILT when it was
 * never built (a checkout without `npm install`, or web/dist removed).
 */
export function webRoot(): string {
  for (const relative of ['../web/dist/', '../../web/dist/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new LookoutError(
    'WEB_APP_NOT_BUILT',
    'the web app is not built (web/dist/index.html is missing): run npm run build',
  );
}
