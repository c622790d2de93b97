import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TransferRow } from '../../../devices/index.js';
import { headerLine, readTransferFile, rowLine, trailerLine } from '../../../devices/transfer-file.js';
import { fuzzRandom } from '../../helpers/random.js';
import { tempDir } from '../../helpers/tmp.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const HEADER = headerLine({
  format: 'lookout-registry',
  version: 1,
  keyFingerprint: 'a'.repeat(32),
  source: 'sqlite',
  exportedAt: new Date(0).toISOString(),
});
const ROWS: TransferRow[] = [
  {
    kind: 'device',
    device: {
      id: 'cam1',
      name: 'Porch',
      createdAt: 1,
      lastSeenAt: null,
      online: false,
      revokedAt: null,
      secretGeneration: 2,
      recording: { mode: 'continuous', active: false, maxAgeHours: 12 },
    },
    secretHash: 'ab'.repeat(32),
  },
  {
    kind: 'token',
    token: {
      id: 'abc',
      name: 't',
      createdAt: 1,
      lastUsedAt: 2,
      revokedAt: null,
      user: 'ann',
      cameras: ['cam1'],
      readOnly: true,
    },
    tokenHash: 'cd'.repeat(32),
  },
  {
    kind: 'user',
    user: { name: 'ann', role: 'viewer', createdAt: 3, passwordGeneration: 2 },
    passwordHash: 'scrypt$32768$8$1$salt$hash',
    grants: [{ user: 'ann', camera: 'cam1', live: true, recordings: false }],
  },
  {
    kind: 'segment',
    segment: {
      id: 7,
      deviceId: 'cam1',
      startMs: 1,
      endMs: null,
      durationMs: null,
      bytes: 0,
      videoCodec: 'h264',
      audioCodec: null,
      path: 'cam1/a.mp4',
      state: 'writing',
      node: 'node-a',
    },
  },
  {
    kind: 'gap',
    gap: { id: 3, deviceId: 'cam1', startMs: 1, endMs: 2, reason: 'server-down', node: 'node-a' },
  },
];

let files = 0;
function file(text: string): string {
  const name = path.join(tmp.dir, `f${++files}.ndjson`);
  writeFileSync(name, text);
  return name;
}

async function readAll(name: string): Promise<TransferRow[]> {
  const { rows } = await readTransferFile(name);
  const out: TransferRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

describe('registry export file', () => {
  it('reads back what was written', async () => {
    const name = file(HEADER + ROWS.map(rowLine).join('') + trailerLine(ROWS.length));
    expect((await readTransferFile(name)).header.keyFingerprint).toBe('a'.repeat(32));
    expect(await readAll(name)).toEqual(ROWS);
  });

  it('refuses a missing or wrong trailer, data after it, and a foreign header', async () => {
    const body = HEADER + ROWS.map(rowLine).join('');
    await expect(readAll(file(body))).rejects.toMatchObject({ code: 'EXPORT_INVALID' });
    await expect(readAll(file(body + trailerLine(3)))).rejects.toMatchObject({ code: 'EXPORT_INVALID' });
    await expect(readAll(file(`${body + trailerLine(4)}{}\n`))).rejects.toMatchObject({
      code: 'EXPORT_INVALID',
    });
    await expect(readTransferFile(file(''))).rejects.toMatchObject({ code: 'EXPORT_INVALID' });
    await expect(readTransferFile(file('{"format":"other"}\n'))).rejects.toMatchObject({
      code: 'EXPORT_INVALID',
    });
  });

  it('answers any corrupted line with EXPORT_INVALID, never another error (seeded)', async () => {
    const random = fuzzRandom(11);
    const lines = [HEADER, ...ROWS.map(rowLine), trailerLine(ROWS.length)];
    for (let round = 0; round < 200; round++) {
      const copy = [...lines];
      const at = random.int(copy.length);
      const line = copy[at]!;
      const mutation = random.int(4);
      copy[at] =
        mutation === 0
          ? `${random.bytes(1 + random.int(40)).toString('latin1')}\n`
          : mutation === 1
            ? line.replace(/"[a-z]+":/, `"${random.pick(['x', 'id', 'kind', 'rows'])}":`)
            : mutation === 2
              ? line.replace(/[0-9]+/, String(-1 - random.int(5)))
              : `${line.slice(0, random.int(line.length))}\n`;
      if (copy[at] === line) continue;
      const name = file(copy.join(''));
      const outcome = await readAll(name).then(
        () => 'ok',
        (err: { code?: string }) => err.code ?? String(err),
      );
      // A mutation may leave a valid file (a renamed name key, a shortened hex): then all is read.
      expect(['ok', 'EXPORT_INVALID'], `round ${round}: ${copy[at]}`).toContain(outcome);
    }
  });
});
