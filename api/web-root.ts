import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The built browser app (web/dist/, bundled from web/src by `npm run build`), whether the server
 * runs from source (api/) or from the build (dist/api/). Throws when it was never built.
 */
export function webRoot(): string {
  for (const relative of ['../web/dist/', '../../web/dist/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('the web app is not built (web/dist/index.html is missing): run npm run build');
}
