import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from '../../api/index.js';
import { loadConfig } from '../../config/index.js';
import { silentLogger } from '../../core/log.js';
import { signNodeRequest, verifyNodeRequest } from '../../core/node-signature.js';
import { openRegistry, type Registry } from '../../devices/index.js';
import { Archive, type ArchivePeers } from '../../recordings/index.js';
import { trimToPlayable } from '../../recordings/recovery.js';
import { probe } from '../helpers/media-probe.js';
import { recordedFile } from '../helpers/recorded-file.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Two nodes' archives in one process, each behind its own real HTTP server, over one registry (D40):
 * node B exports a range holding A's finished segment, the segment A is still writing (copied by A,
 * cut by B to its whole fragments) and B's own; what A is writing cannot be downloaded from B
 * either (409, as on a single host); B's copies are gone afterwards.
 */
const ready = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);
const secret = 'cluster-node-secret-for-the-test-000';

describe.runIf(ready)('an export through one node of segments another node holds', () => {
  let tmp: ReturnType<typeof tempDir>;
  let registry: Registry;
  const servers: HttpServer[] = [];
  const urls = new Map<string, string>();
  let token: string;
  const T = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const ids: Record<string, number> = {};

  const peersOf = (self: string): ArchivePeers => ({
    nodeUrl: async (node) => urls.get(node),
    sign: (method, target) => signNodeRequest({ secret, node: self, method, target, now: Date.now() }),
    verify: (method, target, header) =>
      verifyNodeRequest({ secret, header, method, target, now: Date.now() }),
  });
  const dirOf = (node: string) => path.join(tmp.dir, node, 'recordings');

  async function segmentOn(node: string, name: string, startMs: number, writing = false) {
    const relative = `cam1/${name}.mp4`;
    const file = path.join(dirOf(node), relative);
    recordedFile(file, 10);
    if (writing) {
      ids[name] = await registry.recordings.open({
        deviceId: 'cam1',
        node,
        startMs,
        path: relative,
        videoCodec: 'h264',
        audioCodec: null,
      });
      return;
    }
    trimToPlayable(file);
    ids[name] = await registry.recordings.insertComplete({
      deviceId: 'cam1',
      node,
      startMs,
      endMs: startMs + 10_000,
      durationMs: 10_000,
      bytes: statSync(file).size,
      videoCodec: 'h264',
      audioCodec: null,
      path: relative,
    });
  }

  beforeAll(async () => {
    tmp = tempDir();
    registry = await openRegistry({ dataDir: tmp.dir });
    await registry.devices.add('cam1');
    token = (await registry.tokens.create('test')).token;
    await segmentOn('node-a', 'a-done', T);
    await segmentOn('node-a', 'a-writing', T + 10_000, true);
    await segmentOn('node-b', 'b-done', T + 20_000);
    for (const node of ['node-a', 'node-b']) {
      const archive = new Archive(registry.recordings, dirOf(node), { node, peers: peersOf(node) });
      const http = await createHttpServer(
        { ...loadConfig().http, host: '127.0.0.1', port: 0 },
        {
          devices: registry.devices,
          recordings: { archive, devices: registry.devices, policyChanged: () => {} },
          tokens: registry.tokens,
          log: silentLogger(),
          version: 'test',
        },
      );
      servers.push(http);
      urls.set(node, `http://127.0.0.1:${http.address().port}`);
    }
  }, 60_000);

  afterAll(async () => {
    for (const http of servers) await http.close();
    await registry?.close();
    tmp?.remove();
  });

  const get = (node: string, url: string) =>
    fetch(`${urls.get(node)}${url}`, { headers: { authorization: `Bearer ${token}` } });

  it('fetches the finished and the still-written segment from A and exports them with B’s own', async () => {
    const from = new Date(T).toISOString();
    const to = new Date(T + 30_000).toISOString();
    const answer = await get('node-b', `/api/devices/cam1/export.mp4?from=${from}&to=${to}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-lookout-unavailable-nodes')).toBeNull();
    const file = path.join(tmp.dir, 'export.mp4');
    writeFileSync(file, Buffer.from(await answer.arrayBuffer()));
    // A's writing segment counts up to its last whole fragment: 9 or 10 of its 10 s.
    const { durationSeconds } = probe(file);
    expect(durationSeconds).toBeGreaterThan(27);
    expect(durationSeconds).toBeLessThan(31);
    // B's copies of A's segments and A's copy of what it is writing are gone.
    const copies = (node: string) =>
      readdirSync(path.join(dirOf(node), '.exports'), { recursive: true, encoding: 'utf8' }).filter((f) =>
        /(-\d+|peer-[0-9a-f]+)\.mp4$/.test(f),
      );
    await waitFor(() => copies('node-b').length === 0 && copies('node-a').length === 0, {
      timeoutMs: 10_000,
      what: 'the copies removed',
    });
  });

  it('answers 409 SEGMENT_WRITING for the segment A is writing, from either node', async () => {
    for (const node of ['node-a', 'node-b']) {
      const answer = await get(node, `/api/devices/cam1/recordings/${ids['a-writing']}.mp4`);
      expect(answer.status).toBe(409);
      expect(((await answer.json()) as { code: string }).code).toBe('SEGMENT_WRITING');
    }
  });

  it("reads A's finished segment through B, with A's headers and the holder named", async () => {
    const answer = await get('node-b', `/api/devices/cam1/recordings/${ids['a-done']}.mp4`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-lookout-node')).toBe('node-a');
    expect(answer.headers.get('content-type')).toBe('video/mp4');
    expect(answer.headers.get('content-disposition')).toContain('inline; filename="cam1-');
    const bytes = Buffer.from(await answer.arrayBuffer());
    expect(bytes.length).toBe(statSync(path.join(dirOf('node-a'), 'cam1/a-done.mp4')).size);
    // A HEAD (a player probing the file) answers the headers alone.
    const head = await fetch(`${urls.get('node-b')}/api/devices/cam1/recordings/${ids['a-done']}.mp4`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(bytes.length);
    // Beyond the end: the holder's 416 comes through.
    const beyond = await fetch(`${urls.get('node-b')}/api/devices/cam1/recordings/${ids['a-done']}.mp4`, {
      headers: { authorization: `Bearer ${token}`, range: `bytes=${bytes.length + 10}-` },
    });
    expect(beyond.status).toBe(416);
  });
});
