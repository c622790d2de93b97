import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_AUTH_HEADER, signNodeRequest, verifyNodeRequest } from '../../core/node-signature.js';
import type { Segment } from '../../devices/index.js';
import type { ArchivePeers } from '../../recordings/index.js';
import { fetchRemoteParts } from '../../recordings/remote-fetch.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * An export's fetches from the node holding segments (D40), against a real HTTP holder on a socket:
 * what is signed, what is written, and that nothing is left on disk when the holder sends too much,
 * stops, or the export is abandoned.
 */
const secret = 'the-cluster-node-secret-0123456789';
const body = randomBytes(200_000);
let holder: Server;
let url: string;
/** What the holder does per segment id. */
const behaviour = new Map<number, (res: ServerResponse) => void>();
const open = new Set<ServerResponse>();
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  tmp = tempDir();
  holder = createServer((req, res) => {
    const verdict = verifyNodeRequest({
      secret,
      header: req.headers[NODE_AUTH_HEADER],
      method: req.method ?? '',
      target: req.url ?? '',
      now: Date.now(),
    });
    if (!verdict.ok || verdict.node !== 'node-b') {
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end('{"code":"NODE_AUTH_INVALID"}');
      return;
    }
    const id = Number(/\/(\d+)\.mp4$/.exec(req.url ?? '')?.[1]);
    open.add(res);
    res.once('close', () => open.delete(res));
    (behaviour.get(id) ?? ((r) => r.writeHead(404).end('{"code":"SEGMENT_NOT_FOUND"}')))(res);
  });
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(holder.address() as AddressInfo).port}`;
});
afterAll(async () => {
  holder.closeAllConnections();
  await new Promise((resolve) => holder.close(resolve));
  tmp.remove();
});

const peers = (live = true): ArchivePeers => ({
  nodeUrl: async (node) => (live && node === 'node-a' ? url : undefined),
  sign: (method, target) => signNodeRequest({ secret, node: 'node-b', method, target, now: Date.now() }),
  verify: () => ({ ok: false, reason: 'missing' }),
});

function segment(id: number, bytes = body.length): Segment {
  return {
    id,
    deviceId: 'cam1',
    node: 'node-a',
    startMs: id * 1000,
    endMs: id * 1000 + 1000,
    durationMs: 1000,
    bytes,
    videoCodec: 'h264',
    audioCodec: null,
    path: `cam1/${id}.mp4`,
    state: 'complete',
  };
}

const fileFor = (s: Segment) => path.join(tmp.dir, `copy-${s.id}.mp4`);
const part = (s: Segment, maxBytes = s.bytes) => ({ segment: s, url, maxBytes });

describe('fetching other nodes’ segments for an export (D40)', () => {
  it('copies each segment, signed as this node, byte for byte', async () => {
    for (const id of [1, 2, 3]) {
      behaviour.set(id, (res) => res.writeHead(200, { 'content-length': body.length }).end(body));
    }
    const created: string[] = [];
    const fetched = await fetchRemoteParts(
      peers(),
      [1, 2, 3].map((id) => part(segment(id))),
      fileFor,
      created,
    );
    expect(fetched.map((f) => f.segment.id)).toEqual([1, 2, 3]);
    for (const f of fetched) expect(readFileSync(f.file).equals(body)).toBe(true);
    expect(created).toHaveLength(3);
  });

  it('refuses and removes a copy larger than the index says (declared or sent)', async () => {
    behaviour.set(4, (res) => res.writeHead(200, { 'content-length': body.length }).end(body));
    behaviour.set(5, (res) => {
      res.writeHead(200); // chunked: no length announced
      res.end(body);
    });
    for (const id of [4, 5]) {
      const created: string[] = [];
      await expect(
        fetchRemoteParts(peers(), [part(segment(id), 1000)], fileFor, created),
      ).rejects.toMatchObject({ code: 'EXPORT_FAILED' });
      expect(existsSync(fileFor(segment(id)))).toBe(false);
    }
  });

  it('removes the partial copy when the holder stops sending or the export is abandoned', async () => {
    behaviour.set(6, (res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 50_000));
      setImmediate(() => res.destroy()); // the holder dies mid-file
    });
    await expect(fetchRemoteParts(peers(), [part(segment(6))], fileFor, [])).rejects.toMatchObject({
      code: 'NODE_UNAVAILABLE',
    });
    expect(existsSync(fileFor(segment(6)))).toBe(false);

    behaviour.set(7, (res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 50_000)); // then nothing: the client gives up
    });
    const abort = new AbortController();
    const fetching = fetchRemoteParts(peers(), [part(segment(7))], fileFor, [], abort.signal);
    await waitFor(() => existsSync(fileFor(segment(7))) && readFileSync(fileFor(segment(7))).length > 0, {
      timeoutMs: 10_000,
      what: 'the first bytes written',
    });
    abort.abort();
    await expect(fetching).rejects.toMatchObject({ code: 'REQUEST_ABORTED' });
    expect(existsSync(fileFor(segment(7)))).toBe(false);
    await waitFor(() => open.size === 0, { timeoutMs: 10_000, what: "the holder's answer closed" });
  });

  it('is NODE_UNAVAILABLE for a node not in the cluster or not listening, and passes on the holder’s code', async () => {
    await expect(fetchRemoteParts(peers(false), [part(segment(1))], fileFor, [])).rejects.toMatchObject({
      code: 'NODE_UNAVAILABLE',
      details: { node: 'node-a', segment: 1 },
    });
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    const refused: ArchivePeers = { ...peers(), nodeUrl: async () => `http://127.0.0.1:${port}` };
    await expect(fetchRemoteParts(refused, [part(segment(1))], fileFor, [])).rejects.toMatchObject({
      code: 'NODE_UNAVAILABLE',
    });
    await expect(fetchRemoteParts(peers(), [part(segment(99))], fileFor, [])).rejects.toMatchObject({
      code: 'SEGMENT_NOT_FOUND',
    });
    const wrongSecret: ArchivePeers = {
      ...peers(),
      sign: (method, target) =>
        signNodeRequest({ secret: 'another', node: 'node-b', method, target, now: Date.now() }),
    };
    await expect(fetchRemoteParts(wrongSecret, [part(segment(1))], fileFor, [])).rejects.toMatchObject({
      code: 'NODE_AUTH_INVALID',
    });
  });
});
