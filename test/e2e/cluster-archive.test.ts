import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trimToPlayable } from '../../recordings/recovery.js';
import { runCli } from '../helpers/cli.js';
import { clusterEnv } from '../helpers/cluster-env.js';
import { probe } from '../helpers/media-probe.js';
import { havePostgres, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { type RunningProcess, startServe } from '../helpers/processes.js';
import { recordedFile } from '../helpers/recorded-file.js';
import { hasRedis, startRedis, type TestRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The archive across nodes (issue 11 item 6, D40): two real `lookout serve` nodes on one Redis and
 * one PostgreSQL. Real H.264 segments lie on node A's disk (A's startup recovery indexes them under
 * its name, as it does any file a recorder left) and one on B's; no node records anything (no camera
 * has a recording policy). Through node B: A's segments are listed, downloaded whole and by Range
 * with identical bytes, their thumbnail made by A, and a range spanning both nodes exported as one
 * MP4 that plays. B's retention (a 1 h maximum age) deletes its own old file and none of A's. Node A
 * stopped: B answers 503 NODE_UNAVAILABLE for A's segments, listing still works, an export keeps
 * B's part and names A as unavailable.
 */
const available = hasRedis() && havePostgres();
const tmp = tempDir('lookout-cluster-archive-');
let redis: TestRedis;
let postgres: TestPostgres;
let env: Record<string, string>;
const servers: RunningProcess[] = [];

/** Two days ago, on a whole second: old enough for B's 1 h retention, young for A's 30 days. */
const T0 = Math.floor((Date.now() - 2 * 86_400_000) / 1000) * 1000;

beforeAll(async () => {
  if (!available) return;
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  env = clusterEnv(redis.url, await postgres.createDatabase(), tmp.dir);
}, 60_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.close();
  await postgres?.stop();
  tmp.remove();
});

const dataDir = (node: string) => path.join(tmp.dir, node);
const recordings = (node: string) => path.join(dataDir(node), 'recordings');

/** A real 10 s segment in a node's recordings directory, ending at `endMs` (its mtime, which recovery reads). */
function segmentFile(node: string, relative: string, endMs: number): string {
  const file = path.join(recordings(node), relative);
  recordedFile(file, 10);
  // Cut after its last whole fragment now, as recovery would (which would give it a new mtime).
  trimToPlayable(file);
  utimesSync(file, endMs / 1000, endMs / 1000);
  return file;
}

async function serve(node: string, extra: Record<string, string> = {}) {
  const server = await startServe(dataDir(node), { ...env, LOOKOUT_CLUSTER_NODE_ID: node, ...extra });
  servers.push(server);
  return server;
}

interface Listing {
  segments: Array<{ id: number; start: string; end: string | null; bytes: number; node: string }>;
}

describe.skipIf(!available)('the archive across nodes', () => {
  it("lists, downloads (Range), thumbnails and exports A's recordings through B; retention stays on its node; A down is 503 NODE_UNAVAILABLE", async () => {
    requireTool('ffmpeg');
    requireTool('ffprobe');
    const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir('cli')], { env, cwd: tmp.dir });
    expect((await cli(['device', 'add', 'cam1'])).code).toBe(0);
    // cam1 keeps 30 days everywhere; anything else follows its node's global maximum age.
    const kept = await cli(['device', 'update', 'cam1', '--retention', '720']);
    expect(kept.code, kept.stderr).toBe(0);
    const token = (await cli(['token', 'create'])).stdout.trim();

    // cam1 was recorded on A for 20 s, then on B for 10 s; cam2 (a deleted camera's kept
    // recordings) has an old file on each node.
    const a1 = segmentFile('node-a', 'cam1/a-00000.mp4', T0 + 10_000);
    const a2 = segmentFile('node-a', 'cam1/a-00001.mp4', T0 + 20_000);
    const aOld = segmentFile('node-a', 'cam2/a-00000.mp4', T0 + 10_000);
    segmentFile('node-b', 'cam1/b-00000.mp4', T0 + 30_000);
    const bOld = segmentFile('node-b', 'cam2/b-00000.mp4', T0 + 10_000);

    const a = await serve('node-a');
    // B keeps one hour (its own rule): its retention runs at start, after its recovery.
    const b = await serve('node-b', { LOOKOUT_RECORDING_MAX_AGE_HOURS: '1' });
    const get = (node: { http: number }, url: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${node.http}${url}`, {
        headers: { authorization: `Bearer ${token}`, ...headers },
      });

    // Retention on B removed B's own old file, and none of A's (its quota and age are B's alone).
    await waitFor(() => b.logs().includes('recording deleted'), {
      timeoutMs: 30_000,
      what: "B's retention",
    }).catch((err: Error) => {
      throw new Error(`${err.message}; B's log:\n${b.logs()}`);
    });
    expect(existsSync(bOld)).toBe(false);
    for (const file of [a1, a2, aOld]) expect(existsSync(file), file).toBe(true);
    const cam2 = (await (await get(b, '/api/devices/cam2/recordings?from=-3d')).json()) as Listing;
    expect(cam2.segments.map((s) => s.node)).toEqual(['node-a']);

    // Listing through B shows both nodes' segments, each naming its holder.
    const listed = await get(
      b,
      `/api/devices/cam1/recordings?from=${iso(T0 - 60_000)}&to=${iso(T0 + 60_000)}`,
    );
    expect(listed.status).toBe(200);
    const listing = (await listed.json()) as Listing;
    expect(listing.segments.map((s) => s.node)).toEqual(['node-a', 'node-a', 'node-b']);
    const [first, second] = listing.segments as [Listing['segments'][0], Listing['segments'][0]];

    // A's segment through B: whole, then by Range, byte for byte.
    const whole = await get(b, `/api/devices/cam1/recordings/${first.id}.mp4`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('x-lookout-node')).toBe('node-a');
    expect(Buffer.from(await whole.arrayBuffer()).equals(readFileSync(a1))).toBe(true);
    const original = readFileSync(a2);
    const ranged = await get(b, `/api/devices/cam1/recordings/${second.id}.mp4`, {
      range: 'bytes=1000-20999',
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 1000-20999/${original.length}`);
    expect(ranged.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await ranged.arrayBuffer()).equals(original.subarray(1000, 21000))).toBe(true);
    const tail = await get(b, `/api/devices/cam1/recordings/${second.id}.mp4`, { range: 'bytes=-500' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(original.subarray(original.length - 500))).toBe(true);
    // Signed by the node only: the internal route refuses a browser.
    const internal = await get(a, `/internal/archive/segments/${first.id}.mp4`);
    expect(internal.status).toBe(401);
    expect(((await internal.json()) as { code: string }).code).toBe('NODE_AUTH_INVALID');

    // Its thumbnail, made by A.
    const thumbnail = await get(b, `/api/devices/cam1/recordings/${first.id}/thumbnail.jpg`);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
    expect(
      Buffer.from(await thumbnail.arrayBuffer())
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('ffd8');

    // An export through B of a range spanning both nodes plays for its 30 s.
    const range = `from=${iso(T0)}&to=${iso(T0 + 30_000)}`;
    const exported = await get(b, `/api/devices/cam1/export.mp4?${range}`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('x-lookout-unavailable-nodes')).toBeNull();
    const exportFile = path.join(tmp.dir, 'export.mp4');
    writeFileSync(exportFile, Buffer.from(await exported.arrayBuffer()));
    expect(probe(exportFile).durationSeconds).toBeGreaterThan(28);
    expect(probe(exportFile).durationSeconds).toBeLessThan(32);
    await waitFor(() => scratchFiles('node-b').length === 0, {
      timeoutMs: 10_000,
      what: "B's fetched copies removed",
    });

    // A stops: listing still works through B; A's files are 503 NODE_UNAVAILABLE with the node named.
    await a.stop();
    const stillListed = (await (await get(b, `/api/devices/cam1/recordings?from=-3d`)).json()) as Listing;
    expect(stillListed.segments).toHaveLength(3);
    const down = await get(b, `/api/devices/cam1/recordings/${first.id}.mp4`);
    expect(down.status).toBe(503);
    const problem = (await down.json()) as { code: string; detail: string };
    expect(problem.code).toBe('NODE_UNAVAILABLE');
    expect(problem.detail).toContain("'node-a'");
    const downThumbnail = await get(b, `/api/devices/cam1/recordings/${first.id}/thumbnail.jpg`);
    expect(downThumbnail.status).toBe(503);
    // Only A's part of the range: NODE_UNAVAILABLE. Across both: B's part, naming A as left out.
    const onlyA = await get(b, `/api/devices/cam1/export.mp4?from=${iso(T0)}&to=${iso(T0 + 20_000)}`);
    expect(onlyA.status).toBe(503);
    expect(((await onlyA.json()) as { code: string }).code).toBe('NODE_UNAVAILABLE');
    const partly = await get(b, `/api/devices/cam1/export.mp4?from=${iso(T0 + 1)}&to=${iso(T0 + 30_000)}`);
    expect(partly.status).toBe(200);
    expect(partly.headers.get('x-lookout-unavailable-nodes')).toBe('node-a');
    writeFileSync(exportFile, Buffer.from(await partly.arrayBuffer()));
    expect(probe(exportFile).durationSeconds).toBeGreaterThan(8);
    expect(probe(exportFile).durationSeconds).toBeLessThan(12);
  });
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Copies of other nodes' segments a node fetched for exports, still on its disk. */
function scratchFiles(node: string): string[] {
  const root = path.join(recordings(node), '.exports');
  if (!existsSync(root)) return [];
  return readdirRecursive(root).filter((f) => /-\d+\.mp4$/.test(f));
}

function readdirRecursive(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? readdirRecursive(full) : [full];
  });
}
