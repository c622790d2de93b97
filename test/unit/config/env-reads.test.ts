import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.js';

/** The product's folders; tests, benches and scripts may read their own variables. */
const PRODUCT = [
  'agent',
  'api',
  'broker',
  'cli',
  'core',
  'devices',
  'edge-config',
  'media',
  'recordings',
  'turn',
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('one config pipeline (issue 9 item 23)', () => {
  it('no product code outside config/ reads an environment variable', () => {
    const offenders: string[] = [];
    for (const folder of PRODUCT) {
      for (const file of sources(path.join(ROOT, folder))) {
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            // Handing the whole environment to loadConfig (`env: process.env`) is the pipeline itself.
            if (/process\.env\s*(\.|\[)/.test(line) || /\{[^}]*\}\s*=\s*process\.env/.test(line)) {
              offenders.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
            }
          });
      }
    }
    expect(offenders).toEqual([]);
  });
});
