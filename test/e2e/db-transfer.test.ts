import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdOf } from '../../config/index.js';
import { openRegistry } from '../../devices/index.js';
import { CLI_RUN_MS, runCli } from '../helpers/cli.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

/** The node id the CLI runs as (the host name): a SQLite registry names it for every recording. */
const NODE = nodeIdOf({});

const enabled = havePostgres();

/** The rows of an export, without the header (its time and source differ by design). */
function rowsOf(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => JSON.parse(line));
}

/**
 * A single host moving to a cluster and back, through the CLI only: SQLite -> `db export` ->
 * `db import` into PostgreSQL -> `db export` -> `db import` into a new SQLite data directory;
 * the three exports hold the same rows, and a device secret and an API token issued on the
 * first host still verify on the last.
 */
describe.skipIf(!enabled)('lookout db export / import', () => {
  const tmp = tempDir();
  let pgServer: TestPostgres;
  let pgUrl: string;
  const first = path.join(tmp.dir, 'first');
  const last = path.join(tmp.dir, 'last');
  const keyFile = path.join(first, 'registry.key');
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: tmp.dir, env });
  const onPostgres = () => ({
    LOOKOUT_CLUSTER_POSTGRES_URL: pgUrl,
    LOOKOUT_CLUSTER_REGISTRY_KEY_FILE: keyFile,
  });

  beforeAll(async () => {
    pgServer = await startPostgres();
    pgUrl = await pgServer.createDatabase();
  }, 60_000);
  afterAll(async () => {
    await pgServer?.stop();
    tmp.remove();
  });

  it('has --help on db and its commands', { timeout: 4 * CLI_RUN_MS }, async () => {
    const results = await Promise.all(
      [['db'], ['db', 'migrate'], ['db', 'export'], ['db', 'import']].map((args) => cli([...args, '--help'])),
    );
    for (const result of results) {
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: lookout db/);
    }
  });

  it('round-trips SQLite -> PostgreSQL -> SQLite with every row, secret and token intact', {
    timeout: 16 * CLI_RUN_MS,
  }, async () => {
    // The first host: devices, a policy, a revoked device, a token, and a recordings index.
    expect((await cli(['device', 'add', 'cam1', '--data-dir', first, '--json'])).code).toBe(0);
    const edge = JSON.parse((await cli(['device', 'add', 'cam2', '--data-dir', first, '--json'])).stdout);
    expect(
      (
        await cli([
          'device',
          'update',
          'cam1',
          '--record',
          'continuous',
          '--retention',
          '12',
          '--data-dir',
          first,
        ])
      ).code,
    ).toBe(0);
    expect((await cli(['device', 'revoke', 'cam1', '--data-dir', first])).code).toBe(0);
    const token = JSON.parse(
      (await cli(['token', 'create', '--name', 'laptop', '--json', '--data-dir', first])).stdout,
    ).token;
    const reg = await openRegistry({ dataDir: first, create: false });
    await reg.recordings.insertComplete({
      deviceId: 'cam1',
      node: NODE,
      startMs: 1_000,
      endMs: 5_000,
      durationMs: 4_000,
      bytes: 123,
      videoCodec: 'h264',
      audioCodec: null,
      path: 'cam1/a.mp4',
    });
    await reg.recordings.open({
      deviceId: 'cam1',
      node: NODE,
      startMs: 5_000,
      path: 'cam1/b.mp4',
      videoCodec: 'h264',
      audioCodec: 'opus',
    });
    await reg.recordings.insertGap('cam2', 100, 200, 'server-down', NODE);
    await reg.recordings.openGap('cam1', 9_000, 'camera-offline', NODE);
    await reg.close();

    const a = path.join(tmp.dir, 'a.ndjson');
    const exported = await cli(['db', 'export', a, '--data-dir', first]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain('Exported 7 rows.');

    // Into PostgreSQL (this node's data directory is elsewhere; it shares the first host's key).
    const node = path.join(tmp.dir, 'node');
    const migrated = await cli(['db', 'migrate', '--data-dir', node], onPostgres());
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('PostgreSQL registry');
    const imported = await cli(['db', 'import', a, '--data-dir', node], onPostgres());
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('Imported 7 of 7 rows into the PostgreSQL registry');
    const listed = await cli(['device', 'list', '--data-dir', node], onPostgres());
    expect(listed.stdout).toMatch(/cam1\s+cam1\s+revoked/);

    // Importing twice is refused: the registry is not empty.
    const again = await cli(['db', 'import', a, '--data-dir', node], onPostgres());
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('REGISTRY_NOT_EMPTY');

    const b = path.join(tmp.dir, 'b.ndjson');
    expect((await cli(['db', 'export', b, '--data-dir', node], onPostgres())).code).toBe(0);

    // Back to SQLite on another host holding the same key.
    const c = path.join(tmp.dir, 'c.ndjson');
    const back = await cli(['db', 'import', b, '--data-dir', last], {
      LOOKOUT_CLUSTER_REGISTRY_KEY_FILE: keyFile,
    });
    expect(back.code, back.stderr).toBe(0);
    expect(
      (await cli(['db', 'export', c, '--data-dir', last], { LOOKOUT_CLUSTER_REGISTRY_KEY_FILE: keyFile }))
        .code,
    ).toBe(0);

    expect(rowsOf(b)).toEqual(rowsOf(a));
    expect(rowsOf(c)).toEqual(rowsOf(a));
    const end = await openRegistry({ dataDir: last, keyFile, create: false });
    try {
      expect(await end.devices.verifySecret('cam2', edge.mqtt.password)).toEqual({ ok: true, generation: 1 });
      expect(await end.tokens.verify(token)).toMatchObject({ name: 'laptop' });
      expect(await end.recordings.openGaps(NODE)).toHaveLength(1);
    } finally {
      await end.close();
    }
  });

  it('refuses an export made under another key, and a truncated or foreign file, before writing', {
    timeout: 4 * CLI_RUN_MS,
  }, async () => {
    const source = path.join(tmp.dir, 'other');
    expect((await cli(['device', 'add', 'x1', '--data-dir', source, '--json'])).code).toBe(0);
    const file = path.join(tmp.dir, 'other.ndjson');
    expect((await cli(['db', 'export', file, '--data-dir', source])).code).toBe(0);
    const target = path.join(tmp.dir, 'target');
    const mismatch = await cli(['db', 'import', file, '--data-dir', target]);
    expect(mismatch.stderr).toContain('REGISTRY_KEY_MISMATCH');

    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const truncated = path.join(tmp.dir, 'truncated.ndjson');
    writeFileSync(truncated, `${lines.slice(0, -1).join('\n')}\n`);
    const cut = await cli(['db', 'import', truncated, '--data-dir', target]);
    expect(cut.stderr).toContain('EXPORT_INVALID');
    const foreign = path.join(tmp.dir, 'foreign.ndjson');
    writeFileSync(foreign, '{"hello":"world"}\n');
    expect((await cli(['db', 'import', foreign, '--data-dir', target])).stderr).toContain('EXPORT_INVALID');
  });
});
