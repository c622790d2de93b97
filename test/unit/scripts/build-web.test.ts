import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildWeb, WEB_STAMP, webStaleReason } from '../../../scripts/build-web.mjs';
import { tempDir } from '../../helpers/tmp.js';

/**
 * The web app's build (esbuild, for real, on a tiny app) and its staleness check, which
 * `npm start` and the test setup use. File times are set explicitly (no sleeps).
 */
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A tiny app, its sources dated a minute ago (before any build of it). */
function app(files: Record<string, string>): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  const earlier = new Date(Date.now() - 60_000);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(tmp.dir, file)), { recursive: true });
    writeFileSync(path.join(tmp.dir, file), text);
    utimesSync(path.join(tmp.dir, file), earlier, earlier);
  }
  for (const dir of ['web/src/components', 'web/src']) utimesSync(path.join(tmp.dir, dir), earlier, earlier);
  return tmp.dir;
}

const SOURCES = {
  'web/src/index.html': '<!doctype html><script type="module" src="main.js"></script>',
  'web/src/main.tsx': "import './style.css';\nconst n: number = 6 * 7;\ndocument.title = 'answer ' + n;\n",
  'web/src/style.css': 'body { margin: 0 }\n',
  'web/src/components/deep.ts': 'export {};\n',
};

describe('the web build', () => {
  it('bundles web/src into web/dist with the page, the CSS and source maps, and stamps it', async () => {
    const root = app(SOURCES);
    expect(webStaleReason(root)).toBe('web app not built yet');
    expect(await buildWeb(root)).toBe(0);
    const dist = path.join(root, 'web', 'dist');
    expect(readFileSync(path.join(dist, 'main.js'), 'utf8')).toContain('answer');
    expect(readFileSync(path.join(dist, 'main.js'), 'utf8')).toContain('sourceMappingURL=main.js.map');
    expect(existsSync(path.join(dist, 'main.js.map'))).toBe(true);
    expect(readFileSync(path.join(dist, 'main.css'), 'utf8')).toMatch(/margin:0/);
    expect(readFileSync(path.join(dist, 'index.html'), 'utf8')).toBe(SOURCES['web/src/index.html']);
    expect(webStaleReason(root)).toBeUndefined();
  });

  it('is stale after an edit or a new file under web/src, and current again after a build', async () => {
    const root = app(SOURCES);
    expect(await buildWeb(root)).toBe(0);
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, 'web/src/components/deep.ts'), later, later);
    expect(webStaleReason(root)).toBe(`${path.join('web', 'src', 'components', 'deep.ts')} changed`);
    // A file added or removed changes its folder's time.
    const added = app(SOURCES);
    expect(await buildWeb(added)).toBe(0);
    utimesSync(path.join(added, 'web/src'), later, later);
    expect(webStaleReason(added)).toBe(`${path.join('web', 'src')} changed`);
  });

  it('fails on a source that does not compile, and leaves no stamp', async () => {
    const root = app({ ...SOURCES, 'web/src/main.tsx': 'const = ;\n' });
    expect(await buildWeb(root)).toBe(1);
    expect(existsSync(path.join(root, WEB_STAMP))).toBe(false);
    expect(webStaleReason(root)).toBe('web app not built yet');
  });
});
