import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 9 item 23: the variables `recordings --help` offers are configuration keys, valid for
 * every command; a mistyped --data-dir is refused by read-only commands without creating
 * anything; an unwritable data directory is one line with a code, not a stack trace.
 */
let tmp: ReturnType<typeof tempDir>;
let dataDir: string;
const cli = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, { cwd: tmp.dir, env });

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  tmp = tempDir();
  dataDir = path.join(tmp.dir, 'data');
  const add = await cli(['device', 'add', 'cam1', '--json', '--data-dir', dataDir]);
  expect(add.code, add.stderr).toBe(0);
}, 60_000);
afterAll(() => tmp.remove());

describe('LOOKOUT_SERVER and LOOKOUT_TOKEN are configuration (client.server, client.token)', () => {
  it('do not break the other commands', { timeout: 90_000 }, async () => {
    const env = { LOOKOUT_SERVER: 'http://127.0.0.1:9', LOOKOUT_TOKEN: 'lkt_x' };
    const list = await cli(['device', 'list', '--data-dir', dataDir], env);
    expect(list.stderr).toBe('');
    expect(list.stdout).toMatch(/^cam1\s+cam1\s+offline/m);
    expect((await cli(['token', 'list', '--data-dir', dataDir], env)).code).toBe(0);
  });

  it('reach the recordings commands, from the environment or a config file', {
    timeout: 90_000,
  }, async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const fromEnv = await cli(['recordings', 'list', 'cam1'], {
      LOOKOUT_SERVER: url,
      LOOKOUT_TOKEN: 'lkt_x',
    });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toMatch(new RegExp(`^lookout: cannot reach ${url}.*\\[SERVER_UNREACHABLE\\]\\n$`));

    const file = path.join(tmp.dir, 'client.json');
    writeFileSync(file, JSON.stringify({ client: { server: url, token: 'lkt_x' } }));
    const fromFile = await cli(['recordings', 'start', 'cam1', '--config', file]);
    expect(fromFile.stderr).toMatch(/\[SERVER_UNREACHABLE\]/);

    const noToken = await cli(['recordings', 'list', 'cam1'], { LOOKOUT_SERVER: url });
    expect(noToken.stderr).toMatch(/--server needs --token.*\[TOKEN_MISSING\]/);
    const bad = await cli(['device', 'list', '--data-dir', dataDir], { LOOKOUT_SERVER: 'nvr:8080' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'client.server': must look like http:\/\/host:port.*\(from LOOKOUT_SERVER\)/);
  });
});

describe('a data directory that is not there, or not writable', () => {
  it('read-only commands refuse a missing registry and create nothing', { timeout: 90_000 }, async () => {
    const typo = path.join(tmp.dir, 'dta');
    for (const args of [
      ['device', 'list'],
      ['device', 'show', 'cam1'],
      ['token', 'list'],
      ['recordings', 'list', 'cam1'],
    ]) {
      const result = await cli([...args, '--data-dir', typo]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(
        `lookout: no registry at ${typo}; create one with lookout device add or lookout serve (or give --data-dir) [REGISTRY_NOT_FOUND]\n`,
      );
      expect(existsSync(typo), args.join(' ')).toBe(false);
    }
  });

  it('an unwritable one is one line with its code; the stack only with --log-level debug', {
    timeout: 90_000,
  }, async () => {
    // Root ignores file modes: it gets a read-only file system instead (CI runs as root).
    const locked = path.join(tmp.dir, 'locked');
    mkdirSync(locked);
    const root = process.getuid?.() === 0;
    const { execFileSync } = await import('node:child_process');
    if (root) execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', locked]);
    else chmodSync(locked, 0o500);
    try {
      const code = root ? 'EROFS' : 'EACCES';
      const target = path.join(locked, 'data');
      // A data directory to create in an unwritable place, and an existing unwritable one.
      for (const [args, dir] of [
        [['device', 'add', 'cam2', '--json'], target],
        [['token', 'create'], target],
        [['token', 'create'], locked],
      ] as const) {
        const result = await cli([...args, '--data-dir', dir]);
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr).toMatch(new RegExp(`^lookout: [^\\n]*${dir}[^\\n]* \\[${code}\\]\\n$`));
      }
      const debug = await cli(['token', 'create', '--data-dir', target, '--log-level', 'debug']);
      expect(debug.stderr).toMatch(new RegExp(`\\[${code}\\]\\n[^\\n]*Error[^\\n]*\\n\\s+at `));
    } finally {
      if (root) execFileSync('umount', [locked]);
      else chmodSync(locked, 0o700);
    }
  });
});
