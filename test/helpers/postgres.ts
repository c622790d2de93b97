import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePortRange } from './ports.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait-for.js';

/** Debian's PostgreSQL 15 (package `postgresql`, see .ci/run). */
const BIN = process.env.LOOKOUT_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * Whether PostgreSQL's server binaries are installed. Outside CI a missing server skips the
 * PostgreSQL tests loudly; in CI (CI=true) it fails them: nothing is skipped there.
 */
export function havePostgres(): boolean {
  if (existsSync(path.join(BIN, 'postgres')) && existsSync(path.join(BIN, 'initdb'))) return true;
  const message = `PostgreSQL server binaries not found in ${BIN} (Debian package 'postgresql', see .ci/run)`;
  if (process.env.CI) throw new Error(`${message}; CI must not skip tests`);
  console.warn(`\n*** SKIPPING PostgreSQL tests: ${message} ***\n`);
  return false;
}

export interface TestPostgres {
  /** A fresh, empty database on this server; its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server, keeping its files, for outage tests; `start()` brings it back on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  readonly port: number;
}

/**
 * A real PostgreSQL server of its own for one test file: a cluster made by initdb in a
 * temporary directory, on a free port, its socket in that directory, trust authentication for
 * the `lookout` superuser on 127.0.0.1 only. PostgreSQL refuses to run as root: as root (CI)
 * the directory is given to the `postgres` user and the server runs as that user (setpriv).
 */
export async function startPostgres(
  /** `alsoListen`: an address besides 127.0.0.1 (a cluster lab's bridge), trusted for its /24. */
  options: { alsoListen?: string } = {},
): Promise<TestPostgres> {
  const tmp = tempDir('lookout-pg-');
  const data = path.join(tmp.dir, 'data');
  const socketDir = path.join(tmp.dir, 'socket');
  mkdirSync(socketDir);
  const asUser = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (asUser) {
    for (const dir of [tmp.dir, socketDir]) chownSync(dir, asUser.uid, asUser.gid);
  }
  // setpriv execs the server itself (no wrapper process in between), so our signals reach it.
  const run = (command: string, args: string[]) =>
    asUser
      ? {
          command: 'setpriv',
          args: [
            `--reuid=${asUser.uid}`,
            `--regid=${asUser.gid}`,
            '--clear-groups',
            '--',
            path.join(BIN, command),
            ...args,
          ],
        }
      : { command: path.join(BIN, command), args };
  const init = run('initdb', ['-D', data, '-U', 'lookout', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const made = spawnSync(init.command, init.args, { encoding: 'utf8' });
  if (made.status !== 0) {
    tmp.remove();
    throw new Error(`initdb failed: ${made.stderr || made.stdout}`);
  }
  if (options.alsoListen) {
    appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${options.alsoListen}/24 trust\n`);
  }
  const port = await freePortRange(1, { tcp: true });
  let child: ChildProcess | undefined;
  let logs = '';
  let counter = 0;

  const start = async () => {
    const server = run('postgres', [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      socketDir,
      '-c',
      `listen_addresses=${['127.0.0.1', ...(options.alsoListen ? [options.alsoListen] : [])].join(',')}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=100',
    ]);
    const proc = spawn(server.command, server.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-8000)));
    proc.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-8000)));
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`postgres exited (${proc.exitCode}): ${logs}`);
        const client = new pg.Client({ host: '127.0.0.1', port, user: 'lookout', database: 'postgres' });
        client.on('error', () => {});
        try {
          await client.connect();
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
      { timeoutMs: 30_000, what: `postgres on port ${port}` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${logs}`);
    });
  };

  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    // SIGINT: "fast shutdown", clients disconnected, the cluster left clean. SIGQUIT (immediate)
    // if it has not gone after 10 s.
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGQUIT'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  let stopped: Promise<void> | undefined;
  return {
    port,
    start,
    halt,
    async createDatabase() {
      const name = `lookout_${process.pid}_${++counter}`;
      const admin = new pg.Client({ host: '127.0.0.1', port, user: 'lookout', database: 'postgres' });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `postgres://lookout@127.0.0.1:${port}/${name}`;
    },
    stop() {
      stopped ??= halt().finally(() => tmp.remove());
      return stopped;
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      "running as root, PostgreSQL needs the 'postgres' user (installed with the postgresql package)",
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
