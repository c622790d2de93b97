import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LookoutError } from '../core/errors.js';
import { type Access, CSRF_HEADER, principalOf, requireRight } from './auth.js';
import { sendProblem, statusForCode } from './problem.js';
import { bearer, problems } from './responses.js';
import { redirectElsewhere, resourceUrl, SpentTickets, ticketOr, type WhepRouting } from './whep-routing.js';

/**
 * What the WHEP endpoint needs of the media node. Sessions belong to the principal that
 * created them (`owner`, its key: `t:<token id>` or `s:<session id>`, D34): only it may PATCH
 * or DELETE one, and revoking it, or its right on the camera, ends them (principal-watch.ts).
 */
export interface WhepService {
  /** Starts a viewer session from the client's SDP offer; resolves with the SDP answer. */
  createSession(
    deviceId: string,
    offerSdp: string,
    owner: string,
  ): Promise<{ sessionId: string; answerSdp: string }>;
  /**
   * Trickle ICE from the client (`application/trickle-ice-sdpfrag`). WHEP_SESSION_NOT_FOUND
   * also when `requester` is not the session's owner.
   */
  patchSession(deviceId: string, sessionId: string, fragment: string, requester: string): Promise<void>;
  /** Ends the session; WHEP_SESSION_NOT_FOUND also when `requester` is not its owner. */
  deleteSession(deviceId: string, sessionId: string, requester: string): Promise<void>;
  /** The owners of the sessions open now. */
  sessionOwners(): ReadonlySet<string>;
  /** The owners of the sessions open now, each with the cameras it watches. */
  sessionCameras(): ReadonlyMap<string, ReadonlySet<string>>;
  /** Ends every session of `owner` now (only those on `camera` if given); resolves with how many there were. */
  endSessionsOf(owner: string, reason: string, camera?: string): Promise<number>;
}

const SDP = 'application/sdp';
const SDPFRAG = 'application/trickle-ice-sdpfrag';
const MAX_SDP_BYTES = 65_536;

/**
 * A text body of one content type. Only documented and length-checked here: the handlers check
 * the Content-Type themselves (415 WHEP_CONTENT_TYPE) and what the text holds.
 */
const textBody = (type: string, description: string) => ({
  content: { [type]: { schema: z.string().max(MAX_SDP_BYTES).describe(description) } },
});

const cameraParams = z.object({ deviceId: z.string().min(1).max(128) });
const sessionParams = cameraParams.extend({ sessionId: z.string().min(1).max(64) });
/** In a cluster, the ticket a redirect or a session's resource URL carries (D39). */
const ticketQuery = z.object({
  ticket: z
    .string()
    .max(1024)
    .optional()
    .describe(
      'Cluster only: the signed ticket in a redirect or a resource URL, in place of other credentials.',
    ),
});

/**
 * WHEP (draft-ietf-wish-whep): `POST /whep/<deviceId>` with an SDP offer answers
 * `201 Created` + SDP answer + `Location`; `PATCH` on that location takes trickle ICE;
 * `DELETE` ends the session. CORS is open so third-party players on other origins work;
 * the bearer token is what protects it (no cookie crosses origins: no Allow-Credentials).
 * In a cluster (`routing`), a POST for a camera another node holds is redirected there (D39).
 */
export function whepRoutes(
  app: FastifyInstance,
  deps: {
    whep: WhepService;
    access: Access;
    routing?: WhepRouting;
    /** Told after each session created (the principal watch runs while sessions are open). */
    sessionOpened?: () => void;
  },
): void {
  const { routing } = deps;
  const spent = new SpentTickets();
  const withTicket = (
    handler: ReturnType<typeof requireRight>,
    kind: 'post' | 'session',
  ): ReturnType<typeof requireRight> =>
    routing
      ? (ticketOr(handler, { routing, access: deps.access, spent }, kind) as ReturnType<typeof requireRight>)
      : handler;
  const watch = withTicket(
    requireRight(deps.access, 'live', {
      camera: (request) => (request.params as { deviceId: string }).deviceId,
    }),
    'post',
  );
  // PATCH and DELETE act only on the principal's own sessions (the media node checks the owner).
  const auth = withTicket(requireRight(deps.access, 'view'), 'session');
  const api = app.withTypeProvider<ZodTypeProvider>();
  app.addContentTypeParser(
    [SDP, SDPFRAG],
    { parseAs: 'string', bodyLimit: MAX_SDP_BYTES },
    (_req, body, done) => done(null, body),
  );

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/whep/')) return;
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-expose-headers', 'Location, ETag, Link, Accept-Patch, Retry-After');
  });

  app.options(
    '/whep/*',
    {
      schema: {
        summary: 'CORS preflight for WHEP.',
        tags: ['whep'],
        response: { 204: z.undefined().describe('Allowed methods and headers.') },
      },
    },
    async (_request, reply) => {
      reply
        .header('access-control-allow-methods', 'POST, PATCH, DELETE, OPTIONS')
        .header('access-control-allow-headers', `Authorization, Content-Type, If-Match, ${CSRF_HEADER}`)
        .header('accept-post', SDP)
        .code(204)
        .send();
    },
  );

  api.post(
    '/whep/:deviceId',
    {
      preHandler: watch,
      schema: {
        summary: "Starts watching a camera live (WHEP): the viewer's SDP offer in, the SDP answer out.",
        tags: ['whep'],
        ...bearer,
        params: cameraParams,
        querystring: ticketQuery,
        body: textBody(SDP, 'The SDP offer.'),
        response: {
          201: {
            description: 'The SDP answer; `Location` is the session, for PATCH (trickle ICE) and DELETE.',
            content: { [SDP]: { schema: z.string() } },
          },
          307: z
            .undefined()
            .describe(
              'Cluster only: another node holds the camera; repeat the POST at `Location` (it carries a ticket).',
            ),
          ...problems(400, 401, 403, 404, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      if (!isContentType(request.headers['content-type'], SDP)) {
        return sendProblem(reply, {
          status: 415,
          title: 'Unsupported Media Type',
          code: 'WHEP_CONTENT_TYPE',
          detail: `send the offer as ${SDP}`,
        });
      }
      const offer = typeof request.body === 'string' ? request.body : '';
      if (!offer.startsWith('v=0')) {
        return sendProblem(reply, {
          status: 400,
          title: 'Bad Request',
          code: 'SDP_INVALID',
          detail: 'the body is not an SDP offer (must start with v=0)',
        });
      }
      const camera = request.params.deviceId;
      const owner = principalOf(request).key;
      try {
        if (routing && (await redirectElsewhere(reply, routing, camera, owner))) return reply;
        const { sessionId, answerSdp } = await deps.whep.createSession(camera, offer, owner);
        deps.sessionOpened?.();
        return reply
          .code(201)
          .type(SDP)
          .header(
            'location',
            routing
              ? resourceUrl(routing, camera, sessionId, owner)
              : `/whep/${encodeURIComponent(camera)}/sessions/${sessionId}`,
          )
          .header('accept-patch', SDPFRAG)
          .header('etag', `"${sessionId}"`)
          .send(answerSdp);
      } catch (err) {
        return whepError(reply, err);
      }
    },
  );

  api.patch(
    '/whep/:deviceId/sessions/:sessionId',
    {
      preHandler: auth,
      schema: {
        summary: "Adds the viewer's ICE candidates to a WHEP session (trickle ICE).",
        tags: ['whep'],
        ...bearer,
        params: sessionParams,
        querystring: ticketQuery,
        body: textBody(SDPFRAG, 'An SDP fragment with a=candidate lines (RFC 8840).'),
        response: {
          204: z.undefined().describe('Candidates taken.'),
          ...problems(400, 401, 403, 404, 415, 503),
        },
      },
    },
    async (request, reply) => {
      if (!isContentType(request.headers['content-type'], SDPFRAG)) {
        return sendProblem(reply, {
          status: 415,
          title: 'Unsupported Media Type',
          code: 'WHEP_CONTENT_TYPE',
          detail: `send ${SDPFRAG}`,
        });
      }
      try {
        await deps.whep.patchSession(
          request.params.deviceId,
          request.params.sessionId,
          String(request.body ?? ''),
          principalOf(request).key,
        );
        return reply.code(204).send();
      } catch (err) {
        return whepError(reply, err);
      }
    },
  );

  api.delete(
    '/whep/:deviceId/sessions/:sessionId',
    {
      preHandler: auth,
      schema: {
        summary: 'Ends a WHEP session.',
        tags: ['whep'],
        ...bearer,
        params: sessionParams,
        querystring: ticketQuery,
        response: { 200: z.undefined().describe('Ended.'), ...problems(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      try {
        await deps.whep.deleteSession(
          request.params.deviceId,
          request.params.sessionId,
          principalOf(request).key,
        );
        return reply.code(200).send();
      } catch (err) {
        return whepError(reply, err);
      }
    },
  );
}

function isContentType(header: string | undefined, expected: string): boolean {
  return (header ?? '').split(';')[0]!.trim().toLowerCase() === expected;
}

const WHEP_STATUS: Record<string, number> = {
  DEVICE_OFFLINE: 503,
  SHUTTING_DOWN: 503,
  NO_COMMON_CODEC: 400,
  CANDIDATE_LIMIT: 400,
  WHEP_SESSION_NOT_FOUND: 404,
  WHEP_TOKEN_LIMIT: 429,
  WHEP_CAPACITY: 503,
  // The media worker holding the camera died (it is being replaced) or is not ready: try again.
  MEDIA_WORKER_DIED: 503,
  MEDIA_WORKER_TIMEOUT: 503,
  MEDIA_UNAVAILABLE: 503,
  CAMERA_NOT_OPEN: 503,
  // Cluster: Redis (which says which node holds the camera) is away.
  REDIS_UNAVAILABLE: 503,
};

function whepError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof LookoutError)) throw err;
  const status = WHEP_STATUS[err.code] ?? statusForCode(err.code);
  if (status === 503) reply.header('retry-after', '5');
  return sendProblem(reply, { status, title: err.code, code: err.code, detail: err.message });
}
