import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LookoutError } from '../../../core/errors.js';
import { LOCK_FILE, lockDataDir, PID_FILE } from '../../../devices/index.js';
import { ROOT } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function dir(): string {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  return path.join(tmp.dir, 'data');
}

function lockedError(run: () => unknown): LookoutError {
  try {
    run();
  } catch (err) {
    if (err instanceof LookoutError) return err;
    throw err;
  }
  throw new Error('expected DATA_DIR_LOCKED');
}

describe('data directory lock', () => {
  it('is exclusive, names the holder PID, and is free again after release', () => {
    const dataDir = dir();
    const lock = lockDataDir(dataDir);
    expect(readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim()).toBe(String(process.pid));
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dataDir, LOCK_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dataDir, PID_FILE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dataDir).sort()).toEqual([LOCK_FILE, PID_FILE]);

    const err = lockedError(() => lockDataDir(dataDir));
    expect(err.code).toBe('DATA_DIR_LOCKED');
    expect(err.message).toContain(`in use by another lookout serve (pid ${process.pid})`);
    expect(err.details).toMatchObject({ pid: process.pid, dataDir });

    lock.release();
    lock.release(); // idempotent
    expect(existsSync(path.join(dataDir, PID_FILE))).toBe(false);
    // The lock file stays: deleting it would let two servers lock two different files.
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(true);
    lockDataDir(dataDir).release();
  });

  it('a stale PID file does not block: the lock is the kernel lock, not the file', () => {
    const dataDir = dir();
    lockDataDir(dataDir).release();
    writeFileSync(path.join(dataDir, PID_FILE), '999999\n');
    const lock = lockDataDir(dataDir, { pid: 4242 });
    expect(readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim()).toBe('4242');
    lock.release();
  });

  it('does not name a PID that is not running', () => {
    const dataDir = dir();
    const lock = lockDataDir(dataDir, { pid: 999_999 });
    const err = lockedError(() => lockDataDir(dataDir, { isRunning: () => false }));
    expect(err.message).toContain('(pid unknown)');
    lock.release();
  });

  it('is held by another process until it is killed with SIGKILL', async () => {
    const dataDir = dir();
    // A real second process takes the lock and reports; SIGKILL gives it no chance to clean up.
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { lockDataDir } = await import('./devices/index.ts');
         lockDataDir(${JSON.stringify(dataDir)});
         process.stdout.write('locked\\n');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    cleanups.push(() => holder.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    const err = lockedError(() => lockDataDir(dataDir));
    expect(err.message).toContain(`(pid ${holder.pid})`);

    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    lockDataDir(dataDir).release();
  }, 30_000);
});
