import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const hasCompiler = requireTool('make', ['--version']) && requireTool('cc', ['--version']);
const ROOT = path.resolve(import.meta.dirname, '..', '..');

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** scripts/build-native.mjs and the addon's sources, copied into a temporary project. */
function project(): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  for (const file of ['scripts/build-native.mjs', 'media/native/srtp-send.c', 'media/native/binding.gyp']) {
    mkdirSync(path.dirname(path.join(tmp.dir, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(tmp.dir, file));
  }
  return tmp.dir;
}

function run(root: string, args: string[], env: Record<string, string | undefined> = {}) {
  const { CI: _ci, ...rest } = process.env;
  const result = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...rest, ...env },
    timeout: 300_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * The install step of the native SRTP sender (D43): it builds from the local Node's headers,
 * skips a build that is current, and a failed build lets an install finish (the server falls
 * back to JavaScript) except under CI, where it must fail.
 */
describe.runIf(hasCompiler)('scripts/build-native.mjs', () => {
  it('builds the addon, then skips it while it is current; --help and a bad argument', () => {
    const root = project();
    const addon = path.join(root, 'media', 'native', 'build', 'Release', 'srtp_send.node');
    const first = run(root, []);
    expect(first.status, first.output).toBe(0);
    expect(first.output).toContain('build-native: built media/native/build/Release/srtp_send.node');
    expect(existsSync(addon)).toBe(true);
    const second = run(root, []);
    expect(second.status).toBe(0);
    expect(second.output).toContain('is up to date');
    const help = run(root, ['--help']);
    expect(help.status).toBe(0);
    expect(help.output).toContain('Usage: node scripts/build-native.mjs [--force]');
    const bad = run(root, ['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.output).toContain('unknown argument --bogus');
  });

  it('warns and exits 0 when the build fails, but exits 1 under CI', () => {
    const root = project();
    writeFileSync(path.join(root, 'media', 'native', 'srtp-send.c'), 'this is not C;\n');
    const local = run(root, []);
    expect(local.status, local.output).toBe(0);
    expect(local.output).toContain('WARNING: continuing without the native SRTP sender');
    const ci = run(root, [], { CI: 'true' });
    expect(ci.status).toBe(1);
    expect(ci.output).toContain('CI=true, so this fails the install');
  });
});
