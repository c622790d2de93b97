// `npm run build`: compiles dist/ with tsc and bundles the web app into web/dist/ (esbuild,
// scripts/build-web.mjs), stamping each. `npm start` runs this with --if-stale, which skips tsc
// (tens of seconds on a small, busy machine) when dist/ is current: no file or folder of the
// build's sources, and no tsconfig, changed since the stamp (issue 9 item 22); the web app
// likewise when nothing under web/src changed. `--web` builds only the web app, `--watch`
// rebuilds it on every change (`npm run dev:web`).
// Plain JavaScript, because it must run before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildWeb, watchWeb, webStaleReason } from './build-web.mjs';

/** Written after a successful build, dated when the build started. */
export const STAMP = path.join('dist', '.build-stamp');
const CONFIGS = ['tsconfig.build.json', 'tsconfig.json'];

/**
 * The files and folders whose change makes dist/ stale: the tsconfigs, and every folder and
 * `.ts` file under the build's `include` (a folder's time changes when a file in it is added,
 * removed or renamed).
 */
export function buildInputs(root) {
  const { include = [] } = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  const inputs = CONFIGS.map((f) => path.join(root, f)).filter((f) => existsSync(f));
  const walk = (dir) => {
    inputs.push(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) inputs.push(full);
    }
  };
  for (const dir of include) if (existsSync(path.join(root, dir))) walk(path.join(root, dir));
  return inputs;
}

/** Why dist/ must be rebuilt, or undefined when it is current. */
export function staleReason(root) {
  const stamp = path.join(root, STAMP);
  if (!existsSync(stamp)) return 'not built yet';
  const built = statSync(stamp).mtimeMs;
  let inputs;
  try {
    inputs = buildInputs(root);
  } catch (err) {
    return `cannot list the sources (${err.message})`;
  }
  const newer = inputs.find((file) => statSync(file).mtimeMs > built);
  return newer === undefined ? undefined : `${path.relative(root, newer) || '.'} changed`;
}

/**
 * Runs `tsc` (an argv; default the project's TypeScript) in `root` and, when it succeeds,
 * writes the stamp dated at the start, so an edit made during the build is seen next time.
 * Returns tsc's exit status.
 */
export function build(root, tsc = defaultTsc(root)) {
  const started = new Date();
  const [command, ...args] = tsc;
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  const status = result.status ?? 1;
  if (status === 0) {
    const stamp = path.join(root, STAMP);
    writeFileSync(stamp, `${started.toISOString()}\n`);
    utimesSync(stamp, started, started);
  }
  return status;
}

function defaultTsc(root) {
  const tscBin = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
  return [process.execPath, tscBin, '-p', 'tsconfig.build.json'];
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const args = process.argv.slice(2);
  if (args.includes('--watch')) {
    await watchWeb(root);
  } else {
    const ifStale = args.includes('--if-stale');
    const webOnly = args.includes('--web');
    let status = 0;
    const serverReason = webOnly ? undefined : ifStale ? staleReason(root) : 'asked';
    if (serverReason !== undefined) {
      if (ifStale) process.stderr.write(`lookout: building dist/ (${serverReason})\n`);
      status = build(root);
    }
    const webReason = ifStale ? webStaleReason(root) : 'asked';
    if (status === 0 && webReason !== undefined) {
      if (ifStale) process.stderr.write(`lookout: building web/dist/ (${webReason})\n`);
      status = await buildWeb(root);
    }
    process.exit(status);
  }
}
