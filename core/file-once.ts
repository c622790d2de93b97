import { randomBytes } from 'node:crypto';
import { linkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePrivateDir } from './private-dir.js';

/**
 * Creates `file` (mode 0600, its directory 0700) holding `contents`, unless it exists.
 * Atomic: a temp file is hard-linked into place, so processes starting together (a CLI
 * and a server) agree on one file; whoever loses the race keeps the winner's.
 */
export function createFileOnce(file: string, contents: string): void {
  makePrivateDir(path.dirname(file));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, contents, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}
