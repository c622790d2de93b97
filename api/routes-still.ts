import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import type { Device } from '../devices/index.js';
import { deviceIdParams, stillQuerySchema } from '../http-contract/index.js';
import { STILL_MAX_WIDTH, type Still } from '../recordings/index.js';
import { type Access, principalOf, requireRight } from './auth.js';
import { bearer, problems } from './responses.js';

export interface StillRoutesDeps {
  stills: {
    still(cameraId: string, options: { wake: boolean; client: string; signal?: AbortSignal }): Promise<Still>;
  };
  devices: { get(id: string): Promise<Device | undefined> };
  access: Access;
}

const SOURCE_HEADER = 'x-lookout-still-source';

/**
 * A camera's still picture for the live grid (recordings/stills.ts): the latest keyframe of its
 * stream while the server receives it, else the newest recording's thumbnail, else 404
 * NO_STILL. `?wake=1` may make the camera stream briefly for it; nothing else does. The right
 * is the camera's `live` (a token also as `?access_token=` for `<img src>`).
 */
export function stillRoutes(app: FastifyInstance, deps: StillRoutesDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/devices/:id/still.jpg',
    {
      preHandler: requireRight(deps.access, 'live', {
        camera: (request: FastifyRequest) => (request.params as { id: string }).id,
        allowQuery: true,
      }),
      schema: {
        summary: `A camera's still picture (JPEG, at most ${STILL_MAX_WIDTH} px wide) for a tile nobody watches.`,
        description:
          'The latest keyframe of the stream the server receives now (someone watches, or it records), ' +
          'decoded to a JPEG and cached until a newer keyframe; else the thumbnail of its newest recorded ' +
          'segment; else 404 `NO_STILL`. A camera that does not stream is not woken unless `wake=1`. ' +
          '`X-Lookout-Still-Source` says which (`live`, `wake`, `recording`), `X-Lookout-Still-Age-Ms` how old ' +
          'a live keyframe is.',
        tags: ['devices'],
        ...bearer,
        params: deviceIdParams,
        querystring: stillQuerySchema,
        response: {
          200: {
            description: 'The picture.',
            headers: z.object({
              [SOURCE_HEADER]: z.enum(['live', 'wake', 'recording']),
            }),
            content: { 'image/jpeg': { schema: z.string().meta({ format: 'binary' }) } },
          },
          ...problems(400, 401, 403, 404, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const device = await deps.devices.get(request.params.id);
      if (!device) throw new LookoutError('DEVICE_NOT_FOUND', `no device '${request.params.id}'`);
      // The client went away: its ffmpeg run (if nobody else waits for it) and its wake end.
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      const still = await deps.stills.still(device.id, {
        wake: request.query.wake === '1',
        client: principalOf(request).key,
        signal: gone.signal,
      });
      // A newer keyframe makes a new picture: the browser asks again each time.
      reply.header('cache-control', 'private, no-cache');
      reply.header(SOURCE_HEADER, still.source);
      reply.type('image/jpeg');
      if (still.source === 'recording') {
        reply.header('last-modified', new Date(still.atMs).toUTCString());
        return reply.sendFile(path.basename(still.file), path.dirname(still.file), { cacheControl: false });
      }
      reply.header('x-lookout-still-age-ms', String(still.ageMs));
      return reply.send(still.jpeg as unknown as string);
    },
  );
}
