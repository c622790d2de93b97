import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 9 item 21: each command loads its modules when it runs. Checked by what the process
 * loads (a module-trace preload), not by a timing, so the test holds on a loaded machine; the
 * timings themselves are in docs/benchmarks.md (`npm run bench:cli`).
 */
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const TRACE = fileURLToPath(new URL('../helpers/module-trace.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

/** Packages only `serve` and `agent` need. */
const SERVER_PACKAGES = ['werift', 'fastify', '@fastify', 'aedes', 'mqtt', 'ws', 'fluent-ffmpeg', 'pino'];

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.remove());

/** Runs `lookout <args>` from source and returns the npm packages it loaded. */
async function packagesLoadedBy(args: string[]): Promise<{ packages: Set<string>; code: number | null }> {
  const traceFile = path.join(tmp.dir, `trace-${args.join('-').replace(/\W+/g, '_')}.txt`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', TSX, '--import', TRACE, MAIN, ...args],
      {
        cwd: tmp.dir,
        env: { PATH: process.env.PATH ?? '', MODULE_TRACE_FILE: traceFile },
        timeout: 60_000,
      },
      (err) => {
        if (err && typeof err.code !== 'number') reject(err);
      },
    );
    child.once('exit', resolve);
  });
  const packages = new Set<string>();
  for (const url of readFileSync(traceFile, 'utf8').split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) packages.add(match[1]!.startsWith('@') ? match[1]!.split('/')[0]! : match[1]!);
  }
  return { packages, code };
}

describe('lookout loads what a command needs, when it runs', { timeout: 120_000 }, () => {
  it('--version and --help load commander alone', async () => {
    for (const args of [['--version'], ['--help'], ['device', '--help']]) {
      const { packages, code } = await packagesLoadedBy(args);
      expect(code, args.join(' ')).toBe(0);
      expect([...packages].filter((p) => p !== 'tsx' && p !== 'esbuild').sort(), args.join(' ')).toEqual([
        'commander',
      ]);
    }
  });

  it("device list loads config and SQLite, none of the server, nor PostgreSQL's client", async () => {
    const dataDir = path.join(tmp.dir, 'data');
    expect((await runCli(['device', 'add', 'cam1', '--json', '--data-dir', dataDir])).code).toBe(0);
    for (const args of [
      ['device', 'list', '--data-dir', dataDir],
      ['device', 'list', '--json', '--data-dir', dataDir],
      ['token', 'list', '--data-dir', dataDir],
    ]) {
      const { packages, code } = await packagesLoadedBy(args);
      expect(code, args.join(' ')).toBe(0);
      expect(packages).toContain('better-sqlite3');
      expect(packages).toContain('zod');
      expect(
        [...SERVER_PACKAGES, 'pg'].filter((p) => packages.has(p)),
        args.join(' '),
      ).toEqual([]);
    }
  });

  it('the trace sees what agent loads (the check above can fail)', async () => {
    // The agent's modules load before it reads its config, so a missing file is enough.
    const { packages, code } = await packagesLoadedBy(['agent', '--config', 'missing.json']);
    expect(code).toBe(1);
    expect(packages).toContain('werift');
  });
});
