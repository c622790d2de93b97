import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The browser app's folder, whether running from source (api/) or from the build (dist/api/). */
export function webRoot(): string {
  for (const relative of ['../web/', '../../web/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('web/ folder not found next to the server code');
}
