import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { waitFor } from '../helpers/wait-for.js';

const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The `ready` line of a JSON log, once written. */
function readyLine(logFile: string): { http: string } | undefined {
  const line = readFileSync(logFile, 'utf8')
    .split('\n')
    .find((l) => l.includes('ready: web app'));
  return line ? (JSON.parse(line) as { http: string }) : undefined;
}

describe.runIf(canMountTmpfs())(
  'lookout serve with its log on a disk that fills up (issue 9, item 5)',
  () => {
    let disk: Tmpfs | undefined;
    let server: ChildProcess | undefined;
    const data = tempDir();
    afterAll(async () => {
      if (server && server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server!.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
      disk?.unmount();
      data.remove();
    });

    it('keeps serving while log lines fail with ENOSPC, and says how many it lost once space returns', async () => {
      disk = mountTmpfs(4);
      const logFile = path.join(disk.dir, 'lookout.log');
      const fd = openSync(logFile, 'a');
      // The data directory is elsewhere: only the log's disk fills. Debug level: one line per request.
      server = spawn(
        process.execPath,
        [
          '--import',
          TSX,
          MAIN,
          'serve',
          '--data-dir',
          data.dir,
          '--log-format',
          'json',
          '--log-level',
          'debug',
        ],
        {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', fd],
          env: {
            ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LOOKOUT_'))),
            LOOKOUT_HTTP_HOST: '127.0.0.1',
            LOOKOUT_HTTP_PORT: '0',
            LOOKOUT_MQTT_HOST: '127.0.0.1',
            LOOKOUT_MQTT_PORT: '0',
            LOOKOUT_TURN_MODE: 'off',
          },
        },
      );
      closeSync(fd);
      const exit = new Promise<string>((resolve) =>
        server!.once('exit', (code, signal) => resolve(`exited: ${code ?? signal}`)),
      );
      const ready = await waitFor(() => readyLine(logFile), {
        timeoutMs: 30_000,
        what: 'lookout serve ready',
      });
      const base = `http://127.0.0.1:${ready.http.split(':').at(-1)}`;
      disk.fill();
      // Each request logs at debug level (and 404s log more): every one of those writes fails.
      for (let i = 0; i < 50; i++) {
        const health = await Promise.race([fetch(`${base}/healthz`).then((r) => r.status), exit]);
        expect(health).toBe(200);
        await fetch(`${base}/no-such-page-${i}`).then((r) => r.arrayBuffer());
      }
      expect(server.exitCode).toBeNull();
      disk.free();
      await waitFor(
        async () => {
          await fetch(`${base}/healthz`);
          return /"msg":"\d+ log lines were lost \(ENOSPC\)"/.test(readFileSync(logFile, 'utf8'));
        },
        { what: 'the lost-lines line', timeoutMs: 10_000 },
      );
      expect(server.exitCode).toBeNull();
    }, 60_000);
  },
);
