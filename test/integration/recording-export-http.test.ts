import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../api/index.js';
import { loadConfig } from '../../config/index.js';
import { silentLogger } from '../../core/log.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { Archive } from '../../recordings/index.js';
import { recordedFile } from '../helpers/recorded-file.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

/** This process's node id in the recordings index. */
const NODE = 'here';

const ready = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);
const KEEP_MS = 300;

/**
 * The real archive, whose exports can be held back before they start: a remux that gets going
 * late, as on a loaded machine. Records the output paths the server asks for and the exports run.
 */
class GatedArchive extends Archive {
  gate: Promise<void> = Promise.resolve();
  readonly outputs: string[] = [];
  readonly runs: Array<Promise<unknown>> = [];

  override tempExportPath(): string {
    const output = super.tempExportPath();
    this.outputs.push(output);
    return output;
  }

  override export(...args: Parameters<Archive['export']>): ReturnType<Archive['export']> {
    const run = this.gate.then(() => super.export(...args));
    this.runs.push(run.catch(() => {}));
    return run;
  }
}

/**
 * The export endpoint against a real archive (SQLite, files ffmpeg made) behind the real HTTP
 * server: what it leaves on disk when clients come and go.
 */
describe.runIf(ready)('GET /api/devices/:id/export.mp4 and its temporary files', () => {
  let tmp: ReturnType<typeof tempDir>;
  let registry: Registry;
  let http: HttpServer;
  let base: string;
  let token: string;
  let exportsDir: string;
  let archive: GatedArchive;
  const startMs = Date.now() - 3_600_000;

  beforeAll(async () => {
    tmp = tempDir();
    registry = await openRegistry({ dataDir: tmp.dir });
    await registry.devices.add('cam1');
    token = (await registry.tokens.create('test')).token;
    const dir = path.join(tmp.dir, 'recordings');
    exportsDir = path.join(dir, '.exports');
    // Three 20 s segments: long enough that the remux takes a moment.
    for (let i = 0; i < 3; i++) {
      const relative = `cam1/s${i}.mp4`;
      const file = path.join(dir, relative);
      recordedFile(file, 20, '640x360');
      await registry.recordings.insertComplete({
        deviceId: 'cam1',
        node: NODE,
        startMs: startMs + i * 20_000,
        endMs: startMs + (i + 1) * 20_000,
        durationMs: 20_000,
        bytes: statSync(file).size,
        videoCodec: 'h264',
        audioCodec: null,
        path: relative,
      });
    }
    archive = new GatedArchive(registry.recordings, dir, { node: NODE });
    http = await createHttpServer(
      {
        ...loadConfig().http,
        host: '127.0.0.1',
        port: 0,
        maxConnectionsPerAddress: 64,
        maxConnections: 1024,
      },
      {
        devices: registry.devices,
        recordings: {
          archive,
          devices: registry.devices,
          policyChanged: () => {},
          exportKeepMs: KEEP_MS,
        },
        tokens: registry.tokens,
        log: silentLogger(),
        version: 'test',
      },
    );
    base = `http://127.0.0.1:${http.address().port}`;
  }, 60_000);

  afterAll(async () => {
    await http?.close();
    await registry?.close();
    tmp?.remove();
  });

  const url = (fromS: number, toS: number) =>
    `${base}/api/devices/cam1/export.mp4?from=${new Date(startMs + fromS * 1000).toISOString()}&to=${new Date(startMs + toS * 1000).toISOString()}`;
  const leftovers = () =>
    readdirSync(exportsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mp4'));

  it('serves the export with Range, keeps it while in use, then removes it', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const whole = await fetch(url(5, 50), { headers: auth });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await whole.arrayBuffer());
    const part = await fetch(url(5, 50), { headers: { ...auth, range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    expect(leftovers()).toHaveLength(1);
    await waitFor(() => leftovers().length === 0, { what: 'the export removed after its grace period' });
  });

  it('removes an export whose client hung up while it was being made', async () => {
    const abort = new AbortController();
    const request = fetch(url(0, 60), {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    // ffmpeg has started writing the export: hang up now, mid-remux.
    await waitFor(() => leftovers().length > 0, { what: 'the remux to start', intervalMs: 2 });
    abort.abort();
    await expect(request).rejects.toThrow();
    await waitFor(() => leftovers().length === 0, {
      what: 'the abandoned export removed',
      timeoutMs: 30_000,
    });
  });

  it('removes an abandoned export whose remux only got going after the server had let it go', async () => {
    let start!: () => void;
    archive.gate = new Promise((resolve) => {
      start = resolve;
    });
    try {
      const asked = archive.outputs.length;
      const abort = new AbortController();
      const request = fetch(url(0, 40), {
        headers: { authorization: `Bearer ${token}` },
        signal: abort.signal,
      });
      const output = await waitFor(() => archive.outputs[asked], { what: 'the export to be asked for' });
      // A placeholder where the export will be: its removal shows that the server let go of the
      // export (its grace after the client left ran out) while the remux had not yet begun.
      writeFileSync(output, 'placeholder');
      abort.abort();
      await expect(request).rejects.toThrow();
      await waitFor(() => !existsSync(output), {
        what: 'the server to let go of the export',
        timeoutMs: 15_000,
      });
      start();
      await archive.runs.at(-1);
      await waitFor(() => leftovers().length === 0, { what: 'the late export removed', timeoutMs: 15_000 });
    } finally {
      archive.gate = Promise.resolve();
      start();
    }
  });
});
