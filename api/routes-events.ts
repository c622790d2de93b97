import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Access, principalOf, requireRight } from './auth.js';
import type { LiveEventHub } from './live-events.js';
import { sendProblem } from './problem.js';
import { bearer, problems } from './responses.js';

/**
 * `GET /api/events`: the live state as server-sent events (docs/http-api.md). An EventSource
 * cannot send headers, so the token may also come as `?access_token=` (as for media links);
 * no log line carries a query string.
 */
export function eventRoutes(app: FastifyInstance, deps: { hub: LiveEventHub; access: Access }): void {
  app.get(
    '/api/events',
    {
      preHandler: requireRight(deps.access, 'view', { allowQuery: true }),
      schema: {
        summary: 'The live state as server-sent events: snapshot, presence, recording, heartbeat, revoked.',
        tags: ['live'],
        ...bearer,
        querystring: z.object({
          access_token: z
            .string()
            .max(256)
            .optional()
            .describe('The API token, for EventSource (no headers).'),
        }),
        response: {
          200: {
            description: 'An endless text/event-stream; docs/http-api.md gives each event and its JSON.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...problems(401, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const admission = deps.hub.admit(principal.key, principal);
      if (!admission.ok) {
        reply.header('retry-after', '5');
        return sendProblem(reply, {
          status: admission.limit === 'token' ? 429 : 503,
          title: admission.limit === 'token' ? 'Too Many Requests' : 'Service Unavailable',
          code: 'EVENTS_LIMIT',
          detail:
            admission.limit === 'token'
              ? 'too many event streams open for this token (http.events.maxPerToken)'
              : 'too many event streams open (http.events.maxStreams)',
        });
      }
      reply.hijack();
      const res = reply.raw;
      res.on('error', (err) => request.log.debug({ err: err.message }, 'event stream write failed'));
      res.socket?.setNoDelay(true);
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Proxies that buffer responses (nginx) would hold the events back.
        'x-accel-buffering': 'no',
      });
      await admission.attach(res);
    },
  );
}
