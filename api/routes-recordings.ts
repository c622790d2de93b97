import { rmSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import { type Device, isDeviceId, type RecordMode } from '../devices/index.js';
import {
  deviceIdParams,
  deviceSchema,
  rangeQuerySchema,
  recordingListingSchema,
  recordingPolicySchema,
} from '../http-contract/index.js';
import type { Archive, ExportResult } from '../recordings/index.js';
import { parseRange, peerSegmentPath, recordingListingJson, Thumbnails } from '../recordings/index.js';
import { ArchiveProxy } from './archive-proxy.js';
import { type Access, principalOf, requireRight } from './auth.js';
import { bearer, problems } from './responses.js';
import { peerArchiveRoutes } from './routes-archive-peer.js';
import { deviceJson } from './routes-devices.js';
import { thumbnailRoutes } from './routes-thumbnails.js';

/** What the recording routes need of the registry. */
export interface RecordingPolicyWriter {
  get(id: string): Promise<Device | undefined>;
  setRecording(
    id: string,
    change: { mode?: RecordMode; active?: boolean; maxAgeHours?: number | null },
  ): Promise<Device>;
}

export interface RecordingRoutesDeps {
  archive: Archive;
  devices: RecordingPolicyWriter;
  access: Access;
  /** Called after a policy change so the server applies it at once. */
  policyChanged(deviceId: string): void;
  /** How long an export is kept after its last request ends (default a minute). */
  exportKeepMs?: number;
}

/** An MP4 file, whole (200) or a byte range of it (206). */
const mp4 = (description: string) => {
  const content = { 'video/mp4': { schema: z.string().meta({ format: 'binary' }) } };
  return { 200: { description, content }, 206: { description: 'The requested byte range.', content } };
};

const segmentParams = deviceIdParams.extend({
  segment: z.string().max(32).describe('`<segment id>.mp4`'),
});

const EXPORT_KEEP_MS = 60_000;

interface CachedExport {
  output: string;
  plan: Promise<ExportResult>;
  /** Abandons fetching other nodes' segments once no request wants the export any more. */
  abort: AbortController;
  /** Requests using it now; the minute's grace starts when the last one ends. */
  users: number;
  timer?: NodeJS.Timeout;
  /** The export has ended (made or failed). */
  done?: boolean;
}

/**
 * A device whose recordings may be read: a registered one, or one deleted with its recordings
 * kept (they stay listable and downloadable under its id until retention removes them, D35).
 */
async function recordedDevice(deps: RecordingRoutesDeps, id: string): Promise<{ id: string }> {
  const device = await deps.devices.get(id);
  if (device) return device;
  if (isDeviceId(id) && (await deps.archive.store.lastEnd(id)) !== null) return { id };
  throw new LookoutError('DEVICE_NOT_FOUND', `no device '${id}'`);
}

function parseQuery(query: z.infer<typeof rangeQuerySchema>) {
  return parseRange(query.from, query.to, Date.now());
}

/**
 * The archive over HTTP: a device's recording policy, its segments and gaps for a time
 * range, one segment's file (with Range), and a range exported as one MP4.
 */
export function recordingRoutes(app: FastifyInstance, deps: RecordingRoutesDeps): void {
  const camera = (request: FastifyRequest) => (request.params as { id: string }).id;
  const admin = requireRight(deps.access, 'admin');
  const auth = requireRight(deps.access, 'recordings', { camera });
  const mediaAuth = requireRight(deps.access, 'recordings', { camera, allowQuery: true });
  const api = app.withTypeProvider<ZodTypeProvider>();
  const thumbnails = new Thumbnails(deps.archive);
  const proxy = new ArchiveProxy(deps.archive.peers);
  thumbnailRoutes(app, { ...deps, thumbnails, proxy });
  if (deps.archive.peers)
    peerArchiveRoutes(app, { archive: deps.archive, peers: deps.archive.peers, thumbnails });

  api.patch(
    '/api/devices/:id/recording',
    {
      preHandler: admin,
      schema: {
        summary: "Changes a device's recording mode or retention (applied at once).",
        tags: ['recordings'],
        ...bearer,
        params: deviceIdParams,
        body: recordingPolicySchema,
        response: { 200: deviceSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const device = await deps.devices.setRecording(request.params.id, request.body);
      deps.policyChanged(device.id);
      return deviceJson(device);
    },
  );

  for (const action of ['start', 'stop'] as const) {
    api.post(
      `/api/devices/:id/recording/${action}`,
      {
        preHandler: admin,
        schema: {
          summary:
            action === 'start'
              ? 'Starts recording an on-demand camera (until stop).'
              : 'Stops recording an on-demand camera (the current segment is finished).',
          tags: ['recordings'],
          ...bearer,
          params: deviceIdParams,
          response: { 200: deviceSchema, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const device = await deps.devices.setRecording(request.params.id, { active: action === 'start' });
        deps.policyChanged(device.id);
        return deviceJson(device);
      },
    );
  }

  api.get(
    '/api/devices/:id/recordings',
    {
      preHandler: auth,
      schema: {
        summary: "A camera's recorded segments and the gaps between them over a time range.",
        tags: ['recordings'],
        ...bearer,
        params: deviceIdParams,
        querystring: rangeQuerySchema,
        response: { 200: recordingListingSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const device = await recordedDevice(deps, request.params.id);
      const { fromMs, toMs } = parseQuery(request.query);
      return recordingListingJson(device.id, fromMs, toMs, await deps.archive.list(device.id, fromMs, toMs));
    },
  );

  api.get(
    '/api/devices/:id/recordings/:segment',
    {
      preHandler: mediaAuth,
      schema: {
        summary: 'One recorded segment as MP4 (Range requests supported).',
        tags: ['recordings'],
        ...bearer,
        params: segmentParams,
        querystring: rangeQuerySchema.pick({ access_token: true }),
        response: { ...mp4('The segment.'), ...problems(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const device = await recordedDevice(deps, request.params.id);
      const match = /^(\d{1,15})\.mp4$/.exec(request.params.segment);
      if (!match) throw new LookoutError('SEGMENT_NOT_FOUND', `no segment '${request.params.segment}'`);
      const segment = await deps.archive.segment(device.id, Number(match[1]));
      const headers = {
        'content-disposition': `inline; filename="${device.id}-${fileStamp(segment.startMs)}.mp4"`,
        'cache-control': 'private, max-age=3600',
      };
      if (segment.node !== deps.archive.node) {
        // Another node's file: read through it (D40).
        return proxy.forward(request, reply, {
          segment,
          target: peerSegmentPath(segment.id),
          maxBytes: segment.bytes + 65_536,
          client: principalOf(request).key,
          headers,
        });
      }
      const { file } = deps.archive.localFile(segment);
      reply.headers(headers);
      return reply.sendFile(path.basename(file), path.dirname(file), {
        acceptRanges: true,
        cacheControl: false,
      });
    },
  );

  // A browser's <video> reads an export in several Range requests: keep each export for
  // a minute after its last use instead of remuxing it again for every request.
  const exports = new Map<string, CachedExport>();
  const forget = (key: string, entry: CachedExport) => {
    clearTimeout(entry.timer);
    if (exports.get(key) === entry) exports.delete(key);
    removeOutput(entry);
  };
  const release = (key: string, entry: CachedExport) => {
    entry.users--;
    if (entry.users > 0) return;
    clearTimeout(entry.timer);
    // Segments still being fetched from other nodes for it: no one waits for them now.
    if (!entry.done) entry.abort.abort();
    entry.timer = setTimeout(() => forget(key, entry), deps.exportKeepMs ?? EXPORT_KEEP_MS);
    entry.timer.unref();
  };
  const startExport = (key: string, deviceId: string, fromMs: number, toMs: number): CachedExport => {
    const output = deps.archive.tempExportPath();
    const abort = new AbortController();
    const entry: CachedExport = {
      output,
      plan: deps.archive.export(deviceId, fromMs, toMs, output, undefined, abort.signal),
      users: 0,
      abort,
    };
    exports.set(key, entry);
    const ended = () => {
      entry.done = true;
    };
    entry.plan.then(ended, ended);
    entry.plan.catch(() => forget(key, entry));
    return entry;
  };
  app.addHook('onClose', async () => {
    for (const entry of exports.values()) {
      clearTimeout(entry.timer);
      removeOutput(entry);
    }
    exports.clear();
  });

  api.get(
    '/api/devices/:id/export.mp4',
    {
      preHandler: mediaAuth,
      schema: {
        summary: 'A time range exported as one MP4 (segments joined without re-encoding).',
        tags: ['recordings'],
        ...bearer,
        params: deviceIdParams,
        querystring: rangeQuerySchema,
        response: { ...mp4('The exported range.'), ...problems(400, 401, 403, 404, 413, 503) },
      },
    },
    async (request, reply) => {
      const device = await recordedDevice(deps, request.params.id);
      const { fromMs, toMs } = parseQuery(request.query);
      const key = `${device.id}/${fromMs}/${toMs}`;
      const entry = exports.get(key) ?? startExport(key, device.id, fromMs, toMs);
      entry.users++;
      clearTimeout(entry.timer);
      // Before the remux is awaited: a client that hangs up while it runs releases it too.
      reply.raw.once('close', () => release(key, entry));
      const plan = await entry.plan;
      reply.header(
        'content-disposition',
        `attachment; filename="${device.id}-${fileStamp(plan.startMs)}.mp4"`,
      );
      reply.header('x-lookout-start', new Date(plan.startMs).toISOString());
      reply.header('x-lookout-end', new Date(plan.endMs).toISOString());
      // Nodes holding part of the range that are down: their segments are not in the file (D40).
      if (plan.unavailableNodes.length > 0) {
        reply.header('x-lookout-unavailable-nodes', plan.unavailableNodes.join(','));
      }
      reply.header('cache-control', 'no-store');
      return reply.sendFile(path.basename(entry.output), path.dirname(entry.output), {
        acceptRanges: true,
        cacheControl: false,
      });
    },
  );
}

/**
 * Deletes an export's file now and once its remux has ended: a client that hangs up before
 * ffmpeg gets going (a loaded machine) lets the grace run out before ffmpeg creates the file.
 */
function removeOutput(entry: CachedExport): void {
  const remove = () => rmSync(entry.output, { force: true });
  remove();
  entry.plan.then(remove, remove);
}

function fileStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
