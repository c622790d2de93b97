import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import type { ZodType } from 'zod';
import type { Config } from '../../config/index.js';
import { nodeIdOf } from '../../config/node-id.js';
import { LookoutError } from '../../core/errors.js';
import type { Registry } from '../../devices/index.js';
import type { RecordingListing } from '../../http-contract/index.js';
import { addCommonOptions, type CommonOptions, resolveConfig, withRegistry } from '../context.js';
import { printJson, printLine, printTable } from '../format.js';
import { recordingOf } from './device.js';

interface RemoteOptions extends CommonOptions {
  server?: string;
  token?: string;
}

interface RangeOptions extends RemoteOptions {
  from?: string;
  to?: string;
}

/**
 * `--server`/`--token` (or LOOKOUT_SERVER/LOOKOUT_TOKEN, the config keys `client.server` and
 * `client.token`): work against a running server over HTTP.
 */
function addRemoteOptions(command: Command): Command {
  return addCommonOptions(command)
    .option(
      '-s, --server <url>',
      'a running Lookout server, e.g. http://nvr:8080 (default: $LOOKOUT_SERVER, client.server; else the local data directory)',
    )
    .option('-t, --token <token>', 'API token for --server (default: $LOOKOUT_TOKEN, client.token)');
}

/** The config, with --server and --token as the flags of `client.server` and `client.token`. */
function remoteConfig(options: RemoteOptions): Promise<Readonly<Config>> {
  return resolveConfig(options, { 'client.server': options.server, 'client.token': options.token });
}

function remote(config: Readonly<Config>): { base: string; token: string } | undefined {
  const { server, token } = config.client;
  if (!server) return undefined;
  if (!token)
    throw new LookoutError(
      'TOKEN_MISSING',
      '--server needs --token (or LOOKOUT_TOKEN): create one with `lookout token create`',
    );
  return { base: server.replace(/\/+$/, ''), token };
}

async function api(
  target: { base: string; token: string },
  pathAndQuery: string,
  init: RequestInit = {},
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${target.base}${pathAndQuery}`, {
      ...init,
      headers: { authorization: `Bearer ${target.token}`, ...(init.headers ?? {}) },
    });
  } catch (err) {
    throw new LookoutError(
      'SERVER_UNREACHABLE',
      `cannot reach ${target.base}: ${(err as Error).cause ?? (err as Error).message}`,
    );
  }
  if (!response.ok) {
    const { problemSchema } = await import('../../http-contract/index.js');
    const parsed = problemSchema.safeParse(await response.json().catch(() => undefined));
    const problem = parsed.success ? parsed.data : undefined;
    throw new LookoutError(
      problem?.code ?? 'HTTP_ERROR',
      problem?.detail ?? `${response.status} ${response.statusText}`,
    );
  }
  return response;
}

/** The server's answer read with the API's own schema (http-contract/): a mismatch is a clear error. */
async function parseAnswer<T>(schema: ZodType<T>, response: Response): Promise<T> {
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) {
    throw new LookoutError(
      'SERVER_ANSWER_INVALID',
      `unexpected answer from ${response.url}: ${parsed.error.issues[0]?.message ?? 'not JSON'} (a different Lookout version?)`,
    );
  }
  return parsed.data;
}

function rangeQuery(fromMs: number, toMs: number): string {
  return `from=${encodeURIComponent(new Date(fromMs).toISOString())}&to=${encodeURIComponent(new Date(toMs).toISOString())}`;
}

export function recordingsCommand(): Command {
  const recordings = new Command('recordings').description(
    'list, pull, start and stop recordings (the archive)',
  );

  addRemoteOptions(
    recordings
      .command('list')
      .description("list a camera's recorded segments and the gaps between them")
      .argument('<id>', 'device id')
      .option('--from <time>', 'start: ISO 8601 (2026-11-24T10:00:00Z) or relative (-1h, -90s, -2d)', '-24h')
      .option('--to <time>', 'end, same forms', 'now')
      .option('--json', 'print JSON (the same document as the HTTP API)'),
  ).action(async (id: string, options: RangeOptions & { json?: boolean }) => {
    const { Archive, parseRange, recordingListingJson, recordingsDir } = await import(
      '../../recordings/index.js'
    );
    const { fromMs, toMs } = parseRange(options.from, options.to, Date.now());
    const config = await remoteConfig(options);
    const target = remote(config);
    let listing: RecordingListing;
    if (target) {
      const { recordingListingSchema } = await import('../../http-contract/index.js');
      listing = await parseAnswer(
        recordingListingSchema,
        await api(target, `/api/devices/${encodeURIComponent(id)}/recordings?${rangeQuery(fromMs, toMs)}`),
      );
    } else {
      listing = await withRegistry(
        options,
        async (registry) => {
          await requireRecorded(registry, id);
          const archive = new Archive(registry.recordings, recordingsDir(config), {
            node: nodeIdOf(config.cluster),
          });
          return recordingListingJson(id, fromMs, toMs, await archive.list(id, fromMs, toMs));
        },
        'read',
        config,
      );
    }
    if (options.json) return printJson(listing);
    const rows = [
      ...listing.segments.map((s) => ({
        start: s.start,
        cells: [
          s.start,
          s.end ?? '(now)',
          seconds(s.durationMs),
          mib(s.bytes),
          [s.videoCodec, s.audioCodec].filter(Boolean).join('+'),
          s.state,
        ],
      })),
      ...listing.gaps.map((g) => ({
        start: g.start,
        cells: [
          g.start,
          g.end ?? '(now)',
          g.end ? seconds(Date.parse(g.end) - Date.parse(g.start)) : '',
          '',
          '',
          `gap: ${g.reason}`,
        ],
      })),
    ].sort((a, b) => a.start.localeCompare(b.start));
    if (rows.length === 0) {
      printLine(`Nothing recorded for ${id} between ${listing.from} and ${listing.to}.`);
      printLine(`  Record it with: lookout device update ${id} --record continuous`);
      return;
    }
    printTable(
      ['START', 'END', 'LENGTH', 'SIZE', 'CODECS', 'STATE'],
      rows.map((r) => r.cells),
    );
    const total = listing.segments.reduce((sum, s) => sum + s.bytes, 0);
    printLine(
      `${count(listing.segments.length, 'segment')}, ${mib(total)}, ${count(listing.gaps.length, 'gap')}.`,
    );
  });

  addRemoteOptions(
    recordings
      .command('pull')
      .description('save a time range of a camera as one MP4 (stitched without re-encoding)')
      .argument('<id>', 'device id')
      .requiredOption('--from <time>', 'start: ISO 8601 or relative (-90s, -1h)')
      .option('--to <time>', 'end, same forms', 'now')
      .requiredOption('-o, --out <file>', 'the MP4 to write')
      .option('-f, --force', 'overwrite an existing file'),
  ).action(async (id: string, options: RangeOptions & { out: string; force?: boolean }) => {
    const [{ Archive, parseRange, recordingsDir }, { SingleBar }] = await Promise.all([
      import('../../recordings/index.js'),
      import('cli-progress'),
    ]);
    const { fromMs, toMs } = parseRange(options.from, options.to, Date.now());
    const config = await remoteConfig(options);
    const out = path.resolve(options.out);
    if (existsSync(out) && !options.force) {
      throw new LookoutError('OUTPUT_EXISTS', `${out} already exists; choose another --out or pass --force`);
    }
    const partial = `${out}.part`;
    const bar = new SingleBar({
      format: ' {task} [{bar}] {percentage}% | {value}/{total} {unit}',
      hideCursor: true,
      stream: process.stderr,
    });
    try {
      const target = remote(config);
      let start: string;
      let end: string;
      if (target) {
        process.stderr.write(
          `Preparing ${id} ${new Date(fromMs).toISOString()} .. ${new Date(toMs).toISOString()} on ${target.base}...\n`,
        );
        const response = await api(
          target,
          `/api/devices/${encodeURIComponent(id)}/export.mp4?${rangeQuery(fromMs, toMs)}`,
        );
        start = response.headers.get('x-lookout-start') ?? new Date(fromMs).toISOString();
        end = response.headers.get('x-lookout-end') ?? new Date(toMs).toISOString();
        warnLeftOut(response.headers.get('x-lookout-unavailable-nodes')?.split(',') ?? []);
        const total = Number(response.headers.get('content-length') ?? 0);
        bar.start(Math.max(1, Math.round(total / 1024)), 0, { task: 'download', unit: 'KiB' });
        let received = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, done) {
            received += chunk.length;
            bar.update(Math.round(received / 1024));
            done(null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(response.body as never), counter, createWriteStream(partial));
      } else {
        const plan = await withRegistry(
          options,
          async (registry) => {
            await requireRecorded(registry, id);
            const archive = new Archive(registry.recordings, recordingsDir(config), {
              node: nodeIdOf(config.cluster),
            });
            let started = false;
            return archive.export(id, fromMs, toMs, partial, (done, total) => {
              if (!started) bar.start(Math.max(1, Math.round(total)), 0, { task: 'export', unit: 's' });
              started = true;
              bar.update(Math.round(done));
            });
          },
          'read',
          config,
        );
        start = new Date(plan.startMs).toISOString();
        end = new Date(plan.endMs).toISOString();
        warnLeftOut(plan.unavailableNodes);
      }
      bar.stop();
      renameSync(partial, out);
      printLine(`Wrote ${out}: ${id} from ${start} to ${end}.`);
    } catch (err) {
      bar.stop();
      rmSync(partial, { force: true });
      throw err;
    }
  });

  for (const action of ['start', 'stop'] as const) {
    addRemoteOptions(
      recordings
        .command(action)
        .description(
          action === 'start'
            ? 'start recording an on-demand camera (until stop)'
            : 'stop recording an on-demand camera (the current segment is finished)',
        )
        .argument('<id>', 'device id'),
    ).action(async (id: string, options: RemoteOptions) => {
      const config = await remoteConfig(options);
      const target = remote(config);
      if (target) {
        const response = await api(target, `/api/devices/${encodeURIComponent(id)}/recording/${action}`, {
          method: 'POST',
        });
        const { deviceSchema } = await import('../../http-contract/index.js');
        const device = await parseAnswer(deviceSchema, response);
        printLine(`${id}: recording ${device.recording.active ? 'on' : 'off'}.`);
        return;
      }
      await withRegistry(
        options,
        async (registry) => {
          const device = await registry.devices.setRecording(id, { active: action === 'start' });
          printLine(`${id}: recording ${recordingOf(device)}. A running server applies it within a second.`);
        },
        'read',
        config,
      );
    });
  }

  return recordings;
}

function seconds(ms: number | null): string {
  if (ms === null) return '';
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/**
 * A registered device, or one deleted with its recordings kept: those stay readable under its
 * id until retention removes them (docs/decisions.md D35). DEVICE_NOT_FOUND otherwise.
 */
async function requireRecorded(registry: Registry, id: string): Promise<void> {
  if ((await registry.devices.get(id)) || (await registry.recordings.lastEnd(id)) !== null) return;
  await registry.devices.require(id);
}

/**
 * Segments held by cluster nodes that were not reachable are not in the file (D40): say so. Without
 * --server the CLI reads only this machine's disk; a running node fetches the others' segments.
 */
function warnLeftOut(nodes: readonly string[]): void {
  if (nodes.length === 0) return;
  process.stderr.write(
    `Left out: the segments held by ${nodes.map((n) => `'${n || '(unknown)'}'`).join(', ')} (not reachable from here; with --server a running node fetches them).\n`,
  );
}
