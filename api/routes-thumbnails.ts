import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import type { Device } from '../devices/index.js';
import { deviceIdParams, rangeQuerySchema } from '../http-contract/index.js';
import { type Archive, peerThumbnailPath, THUMBNAIL_WIDTH, type Thumbnails } from '../recordings/index.js';
import type { ArchiveProxy } from './archive-proxy.js';
import { type Access, principalOf, requireRight } from './auth.js';
import { bearer, problems } from './responses.js';

export interface ThumbnailRoutesDeps {
  archive: Archive;
  devices: { get(id: string): Promise<Device | undefined> };
  access: Access;
  thumbnails: Thumbnails;
  /** Reads another node's thumbnail through it (D40). */
  proxy: ArchiveProxy;
}

/** A JPEG 160 px wide is a few KiB; anything near this is not one. */
const MAX_THUMBNAIL_BYTES = 1_048_576;

const thumbnailParams = deviceIdParams.extend({
  segment: z
    .string()
    .regex(/^\d{1,15}$/)
    .describe('The segment id.'),
});

/**
 * A recorded segment's thumbnail: its first keyframe as a small JPEG, for the review
 * timeline. Same rights as the segment itself (the camera's `recordings` right; a token also as
 * `?access_token=` for `<img src>`); made once and cached beside the segment.
 */
export function thumbnailRoutes(app: FastifyInstance, deps: ThumbnailRoutesDeps): void {
  const { thumbnails } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/devices/:id/recordings/:segment/thumbnail.jpg',
    {
      preHandler: requireRight(deps.access, 'recordings', {
        camera: (request: FastifyRequest) => (request.params as { id: string }).id,
        allowQuery: true,
      }),
      schema: {
        summary: `A finished segment's first keyframe as a JPEG ${THUMBNAIL_WIDTH} px wide.`,
        tags: ['recordings'],
        ...bearer,
        params: thumbnailParams,
        querystring: rangeQuerySchema.pick({ access_token: true }),
        response: {
          200: {
            description: 'The thumbnail.',
            content: { 'image/jpeg': { schema: z.string().meta({ format: 'binary' }) } },
          },
          ...problems(400, 401, 403, 404, 409, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const device = await deps.devices.get(request.params.id);
      if (!device) throw new LookoutError('DEVICE_NOT_FOUND', `no device '${request.params.id}'`);
      const segment = await deps.archive.segment(device.id, Number(request.params.segment));
      // A segment never changes once finished: neither does its picture.
      const cacheControl = 'private, max-age=86400, immutable';
      if (segment.node !== deps.archive.node) {
        return deps.proxy.forward(request, reply, {
          segment,
          target: peerThumbnailPath(segment.id),
          maxBytes: MAX_THUMBNAIL_BYTES,
          client: principalOf(request).key,
          headers: { 'cache-control': cacheControl },
        });
      }
      const file = await thumbnails.file(device.id, segment.id, principalOf(request).key);
      reply.header('cache-control', cacheControl);
      reply.type('image/jpeg');
      return reply.sendFile(path.basename(file), path.dirname(file), { cacheControl: false });
    },
  );
}
