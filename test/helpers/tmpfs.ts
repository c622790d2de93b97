import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './tmp.js';

export interface Tmpfs {
  /** The mount point. */
  dir: string;
  /** Writes a filler file until the file system is full (ENOSPC). */
  fill(): void;
  /** Removes the filler file: the space is back. */
  free(): void;
  /** Unmounts and removes the mount point (idempotent). */
  unmount(): void;
}

/**
 * Whether this process may mount a tmpfs (root). Outside CI a test that needs one skips
 * with a loud reason; in CI (CI=true, which runs as root) not being able to is an error.
 */
export function canMountTmpfs(): boolean {
  if (process.getuid?.() === 0) return true;
  const message = 'mounting a tmpfs needs root';
  if (process.env.CI) throw new Error(`${message}; CI must not skip tests`);
  console.warn(`\n*** SKIPPING full-disk tests: ${message} ***\n`);
  return false;
}

/** Mounts a fresh tmpfs of `sizeMb` (a small disk a test can fill). */
export function mountTmpfs(sizeMb: number): Tmpfs {
  const mount = tempDir('lookout-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755`, 'tmpfs', mount.dir]);
  const filler = path.join(mount.dir, 'filler');
  let mounted = true;
  return {
    dir: mount.dir,
    fill() {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(64 * 1024, 0xaa);
      try {
        for (;;) writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
      // Whatever smaller than a block is left: fill it too.
      const small = openSync(filler, 'a');
      try {
        for (;;) writeSync(small, Buffer.alloc(512));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(small);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', mount.dir]);
      mount.remove();
    },
  };
}
