import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../devices/index.js';
import { CLI_RUN_MS, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `lookout user ...` and scoped `lookout token create` as real processes on one data directory
 * (issue 12 item 1, D34); the registry is then read to check what they wrote.
 */
describe('lookout user', () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  const cli = (args: string[], input?: string) =>
    runCli([...args, '--data-dir', dataDir], input === undefined ? {} : { input });
  afterAll(() => tmp.remove());

  it('adds, lists, grants, changes passwords, scopes tokens and removes users', {
    timeout: 12 * CLI_RUN_MS,
  }, async () => {
    const admin = await cli(['user', 'add', 'root', '--admin']);
    expect(admin.code, admin.stderr).toBe(0);
    const generated = admin.stdout.trim();
    expect(generated.length).toBeGreaterThanOrEqual(16);
    expect(admin.stderr).toContain('shown only now');

    const viewer = await cli(['user', 'add', 'ann', '--password-stdin'], 'ann password\n');
    expect(viewer.code, viewer.stderr).toBe(0);
    expect(viewer.stdout).toBe('');
    expect((await cli(['user', 'add', 'ann', '--password-stdin'], 'whatever1\n')).stderr).toMatch(
      /USER_EXISTS|exists/,
    );
    expect((await cli(['user', 'grant', 'ann', 'cam1'])).stdout).toContain(
      'ann may now see cam1: live and recordings',
    );
    expect((await cli(['user', 'revoke', 'ann', 'cam1', '--recordings'])).stdout).toContain('cam1: live.');

    const list = JSON.parse((await cli(['user', 'list', '--json'])).stdout) as {
      users: Array<{ name: string; role: string; grants: unknown[] }>;
    };
    expect(list.users).toEqual([
      expect.objectContaining({
        name: 'ann',
        role: 'viewer',
        grants: [{ camera: 'cam1', live: true, recordings: false }],
      }),
      expect.objectContaining({ name: 'root', role: 'admin', grants: [] }),
    ]);

    const token = await cli([
      'token',
      'create',
      '--user',
      'ann',
      '--cameras',
      'cam1,cam2',
      '--read-only',
      '--json',
    ]);
    expect(token.code, token.stderr).toBe(0);
    const created = JSON.parse(token.stdout) as { token: string };
    expect((await cli(['token', 'create', '--user', 'nobody'])).code).not.toBe(0);
    expect((await cli(['user', 'passwd', 'ann', '--password-stdin'], 'new ann password\n')).code).toBe(0);

    const registry = await openRegistry({ dataDir, create: false });
    try {
      expect(await registry.users.verifyPassword('root', generated)).toMatchObject({ role: 'admin' });
      expect(await registry.users.verifyPassword('ann', 'new ann password')).toMatchObject({
        role: 'viewer',
      });
      expect(await registry.users.verifyPassword('ann', 'ann password')).toBeUndefined();
      expect(await registry.tokens.verify(created.token)).toMatchObject({
        user: 'ann',
        cameras: ['cam1', 'cam2'],
        readOnly: true,
      });
    } finally {
      await registry.close();
    }
    expect((await cli(['user', 'remove', 'ann'])).stdout).toContain('Removed user ann.');
    const after = JSON.parse((await cli(['token', 'list', '--json'])).stdout) as {
      tokens: Array<{ revoked: boolean }>;
    };
    expect(after.tokens.every((t) => t.revoked)).toBe(true);
  });
});
