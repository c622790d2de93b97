// The web app's build (issue 12): web/src (Preact + TypeScript) bundled by esbuild into
// web/dist/, which the server serves. Plain JavaScript, because it runs before anything is
// compiled (at `npm install`, from scripts/build.mjs). About a second.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export const WEB_SRC = path.join('web', 'src');
export const WEB_DIST = path.join('web', 'dist');
/** Written after a successful web build, dated when it started. */
export const WEB_STAMP = path.join(WEB_DIST, '.build-stamp');

/** esbuild's options for the app (the same for a build and for `npm run dev:web`'s watch). */
export function webOptions(root) {
  return {
    absWorkingDir: root,
    entryPoints: [path.join(WEB_SRC, 'main.tsx')],
    outdir: WEB_DIST,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  };
}

/** The files and folders whose change makes web/dist/ stale: every one under web/src. */
export function webInputs(root) {
  const inputs = [];
  const walk = (dir) => {
    inputs.push(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else inputs.push(full);
    }
  };
  walk(path.join(root, WEB_SRC));
  return inputs;
}

/** Why web/dist/ must be rebuilt, or undefined when it is current. */
export function webStaleReason(root) {
  const stamp = path.join(root, WEB_STAMP);
  if (!existsSync(stamp)) return 'web app not built yet';
  const built = statSync(stamp).mtimeMs;
  let inputs;
  try {
    inputs = webInputs(root);
  } catch (err) {
    return `cannot list the web sources (${err.message})`;
  }
  const newer = inputs.find((file) => statSync(file).mtimeMs > built);
  return newer === undefined ? undefined : `${path.relative(root, newer)} changed`;
}

/** Copies the page (web/src/index.html) next to the bundle. */
function copyPage(root) {
  copyFileSync(path.join(root, WEB_SRC, 'index.html'), path.join(root, WEB_DIST, 'index.html'));
}

/** Builds web/dist/ from scratch and stamps it; returns 0, or 1 after printing esbuild's errors. */
export async function buildWeb(root) {
  const started = new Date();
  const esbuild = await import('esbuild');
  rmSync(path.join(root, WEB_DIST), { recursive: true, force: true });
  mkdirSync(path.join(root, WEB_DIST), { recursive: true });
  try {
    await esbuild.build(webOptions(root));
  } catch {
    return 1; // esbuild printed the errors (logLevel)
  }
  copyPage(root);
  const stamp = path.join(root, WEB_STAMP);
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
  return 0;
}

/** `npm run dev:web`: rebuilds web/dist/ on every change under web/src until interrupted. */
export async function watchWeb(root) {
  const esbuild = await import('esbuild');
  mkdirSync(path.join(root, WEB_DIST), { recursive: true });
  copyPage(root);
  const copyOnRebuild = {
    name: 'copy-page',
    setup(build) {
      build.onEnd(() => copyPage(root));
    },
  };
  const context = await esbuild.context({ ...webOptions(root), minify: false, plugins: [copyOnRebuild] });
  await context.watch();
  process.stderr.write('lookout: watching web/src, writing web/dist (reload the page after a change)\n');
}
