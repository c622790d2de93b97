import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { build, STAMP, staleReason } from '../../../scripts/build.mjs';
import { tempDir } from '../../helpers/tmp.js';

/**
 * Issue 9 item 22: `npm start` compiles only when dist/ is stale. File times are set
 * explicitly (no sleeps): the project's files at t0, the stamp at t1, edits at t2.
 */
const t0 = new Date('2026-01-01T10:00:00Z');
const t1 = new Date('2026-01-01T10:01:00Z');
const t2 = new Date('2026-01-01T10:02:00Z');

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A small project laid out like Lookout's, everything dated t0 and built at t1. */
function project(): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  const root = tmp.dir;
  const files: Record<string, string> = {
    'tsconfig.json': '{ "compilerOptions": { "outDir": "dist" } }',
    'tsconfig.build.json': '{ "extends": "./tsconfig.json", "include": ["cli", "core"] }',
    'cli/main.ts': 'export {};',
    'core/log.ts': 'export {};',
    'core/deep/x.ts': 'export {};',
    'test/a.test.ts': 'export {};',
    'README.md': '',
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  for (const p of [
    'tsconfig.json',
    'tsconfig.build.json',
    'cli/main.ts',
    'cli',
    'core/log.ts',
    'core/deep/x.ts',
  ]) {
    utimesSync(path.join(root, p), t0, t0);
  }
  for (const p of ['core/deep', 'core']) utimesSync(path.join(root, p), t0, t0);
  mkdirSync(path.join(root, 'dist'));
  writeFileSync(path.join(root, STAMP), '');
  utimesSync(path.join(root, STAMP), t1, t1);
  return root;
}

const touch = (root: string, file: string) => utimesSync(path.join(root, file), t2, t2);

describe('npm start: dist/ is rebuilt only when stale', () => {
  it('is current when nothing the build reads changed since the stamp', () => {
    const root = project();
    expect(staleReason(root)).toBeUndefined();
    // Files outside the build do not count.
    touch(root, 'test/a.test.ts');
    touch(root, 'README.md');
    expect(staleReason(root)).toBeUndefined();
  });

  it('is stale without a stamp, after an edit, a new or removed file, or a tsconfig change', () => {
    const root = project();
    rmSync(path.join(root, STAMP));
    expect(staleReason(root)).toBe('not built yet');

    const edited = project();
    touch(edited, 'core/deep/x.ts');
    expect(staleReason(edited)).toBe(`${path.join('core', 'deep', 'x.ts')} changed`);

    const removed = project();
    rmSync(path.join(removed, 'core/log.ts'));
    utimesSync(path.join(removed, 'core'), t2, t2); // what the file system does on unlink
    expect(staleReason(removed)).toBe('core changed');

    const config = project();
    touch(config, 'tsconfig.json');
    expect(staleReason(config)).toBe('tsconfig.json changed');
  });

  it('stamps only a successful build, dated at its start', () => {
    const root = project();
    rmSync(path.join(root, STAMP));
    expect(build(root, [process.execPath, '-e', 'process.exit(2)'])).toBe(2);
    expect(staleReason(root)).toBe('not built yet');

    // A "tsc" that edits a source while it runs: the stamp predates the edit, so the next start rebuilds.
    const editDuringBuild = `require('fs').utimesSync('cli/main.ts', new Date(), new Date())`;
    expect(build(root, [process.execPath, '-e', editDuringBuild])).toBe(0);
    expect(staleReason(root)).toBe(`${path.join('cli', 'main.ts')} changed`);
    expect(build(root, [process.execPath, '-e', ''])).toBe(0);
    expect(staleReason(root)).toBeUndefined();
  });
});
