// `npm run build:native` (and `npm install`'s postinstall): compiles Lookout's native SRTP sender,
// media/native/srtp-send.c, into media/native/build/Release/srtp_send.node with node-gyp (the copy
// bundled with npm) against the running Node's own headers: nothing is downloaded. The server
// works without it (viewers' SRTP then goes through JavaScript, at more CPU per viewer, and it
// says so at start), so a failed build warns and lets the install finish; under CI=true it fails.
// Plain JavaScript, because it must run before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HELP = `Usage: node scripts/build-native.mjs [--force]

Builds media/native/srtp_send.node (Lookout's native SRTP sender, docs/decisions.md D43)
with node-gyp and the running Node's headers. Skips the build when the addon is newer than its
sources, unless --force. Needs python3, make and a C compiler (Debian: python3 make g++).
A failed build prints why and exits 0 (the server falls back to JavaScript), or 1 under CI=true.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'media', 'native');
const sources = ['srtp-send.c', 'binding.gyp'].map((f) => path.join(dir, f));
const addon = path.join(dir, 'build', 'Release', 'srtp_send.node');

/** node-gyp: the one npm runs scripts with, else the one bundled with the npm beside this Node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  return candidates.find((p) => p && existsSync(p));
}

/** The running Node's headers (node-gyp would otherwise download them). */
function nodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(path.join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function fail(reason) {
  const ci = /^(1|true)$/i.test(process.env.CI ?? '');
  console.error(`build-native: ${reason}`);
  console.error(
    ci
      ? 'build-native: CI=true, so this fails the install (the tests need the addon).'
      : "build-native: WARNING: continuing without the native SRTP sender; viewers' SRTP will be sent by JavaScript (more CPU per viewer). Fix the above and run `npm run build:native`.",
  );
  process.exit(ci ? 1 : 0);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--force');
if (unknown.length) {
  console.error(`build-native: unknown argument ${unknown[0]}\n\n${HELP}`);
  process.exit(2);
}

const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
if (!args.includes('--force') && existsSync(addon) && statSync(addon).mtimeMs >= newest) {
  console.log(`build-native: ${path.relative(root, addon)} is up to date`);
  process.exit(0);
}
const gyp = nodeGyp();
if (!gyp) fail('node-gyp not found (it comes with npm; run this through `npm run build:native`)');
const headers = nodeDir();
if (!headers)
  fail(
    `the headers of Node ${process.version} were not found beside ${process.execPath} (and npm's nodedir is not set)`,
  );
console.log(`build-native: building ${path.relative(root, addon)} (node-gyp, headers from ${headers})`);
const run = spawnSync(
  process.execPath,
  [gyp, 'rebuild', '--release', `--nodedir=${headers}`, `--directory=${dir}`],
  {
    stdio: 'inherit',
    env: { ...process.env, npm_config_nodedir: headers },
  },
);
if (run.error) fail(`node-gyp did not run: ${run.error.message}`);
if (run.status !== 0)
  fail(
    `node-gyp exited with ${run.status ?? run.signal} (is a C compiler installed? Debian: apt install python3 make g++)`,
  );
if (!existsSync(addon)) fail(`node-gyp finished but ${addon} is missing`);
console.log(`build-native: built ${path.relative(root, addon)}`);
