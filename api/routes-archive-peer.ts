import { rmSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import { NODE_AUTH_HEADER } from '../core/node-signature.js';
import type { Segment } from '../devices/index.js';
import {
  type Archive,
  type ArchivePeers,
  PEER_SEGMENT_PREFIX,
  type Thumbnails,
} from '../recordings/index.js';

export interface PeerArchiveDeps {
  archive: Archive;
  peers: ArchivePeers;
  thumbnails: Thumbnails;
}

/** The calling node, set by the signature check. */
const callers = new WeakMap<FastifyRequest, string>();

/**
 * What this node serves the other nodes of its cluster, and no one else (D40): its own segments
 * (whole, with Range, or a copy of the one being written) and their thumbnails. Every request
 * carries a signature of the calling node under the cluster's shared secret, bound to the method,
 * the path and a short expiry (core/node-signature.ts). Hidden from the OpenAPI document.
 */
export function peerArchiveRoutes(app: FastifyInstance, deps: PeerArchiveDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const signed = async (request: FastifyRequest) => {
    const verdict = deps.peers.verify(request.method, request.url, request.headers[NODE_AUTH_HEADER]);
    if (!verdict.ok) {
      // Debug only: anyone may knock on this port, and a log line per knock is theirs to flood.
      request.log.debug({ reason: verdict.reason, url: request.url.slice(0, 200) }, 'refused a node request');
      throw new LookoutError(
        'NODE_AUTH_INVALID',
        `not a request of a node of this cluster (${verdict.reason})`,
      );
    }
    callers.set(request, verdict.node);
  };
  const ownSegment = async (id: number): Promise<Segment> => {
    const segment = await deps.archive.store.get(id);
    if (!segment || segment.node !== deps.archive.node || segment.state === 'missing') {
      throw new LookoutError('SEGMENT_NOT_FOUND', `node '${deps.archive.node}' holds no segment ${id}`);
    }
    return segment;
  };

  api.get(
    `${PEER_SEGMENT_PREFIX}/:file`,
    {
      preHandler: signed,
      schema: { hide: true, params: z.object({ file: z.string().regex(/^\d{1,15}\.mp4$/) }) },
    },
    async (request, reply) => {
      const segment = await ownSegment(Number.parseInt(request.params.file, 10));
      if (segment.state === 'writing') return sendCopy(deps.archive, segment, reply);
      const { file } = deps.archive.localFile(segment);
      reply.type('video/mp4');
      return reply.sendFile(path.basename(file), path.dirname(file), {
        acceptRanges: true,
        cacheControl: false,
      });
    },
  );

  api.get(
    `${PEER_SEGMENT_PREFIX}/:id/thumbnail.jpg`,
    {
      preHandler: signed,
      schema: { hide: true, params: z.object({ id: z.string().regex(/^\d{1,15}$/) }) },
    },
    async (request, reply) => {
      const segment = await ownSegment(Number(request.params.id));
      // The calling node is the client the per-client bound counts.
      const file = await deps.thumbnails.file(segment.deviceId, segment.id, `node:${callers.get(request)}`);
      reply.type('image/jpeg');
      return reply.sendFile(path.basename(file), path.dirname(file), { cacheControl: false });
    },
  );
}

/**
 * The segment ffmpeg is writing, for another node's export: a copy taken now (the file grows while
 * it is read), deleted once sent or abandoned; the caller cuts it to its whole fragments.
 */
function sendCopy(archive: Archive, segment: Segment, reply: FastifyReply): FastifyReply {
  const copy = archive.copyForPeer(segment);
  if (!copy) throw new LookoutError('SEGMENT_NOT_FOUND', `segment ${segment.id} has no file yet`);
  reply.raw.once('close', () => rmSync(copy, { force: true }));
  reply.type('video/mp4');
  return reply.sendFile(path.basename(copy), path.dirname(copy), {
    acceptRanges: false,
    cacheControl: false,
  });
}
