import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` and its missing parents, owner-only (0700) where created here; an existing
 * directory keeps its mode. Node's recursive mkdir reports ENOENT when the parent exists but
 * cannot be written (a read-only file system, a missing permission), so that case is retried
 * as a plain mkdir, whose error names the real cause (EROFS, EACCES).
 */
export function makePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(path.dirname(dir))) {
      mkdirSync(dir, { mode: 0o700 });
    }
    throw err;
  }
}
