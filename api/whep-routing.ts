import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Access, actAs, may } from './auth.js';
import { sendProblem } from './problem.js';
import { SpentTickets, signTicket, type TicketKind, ticketNonce, verifyTicket } from './whep-ticket.js';

/** Where a camera's viewers must go in a cluster (D39). */
export type WhepRoute =
  /** This node holds the camera (or just took it): the session is made here. */
  | { at: 'here' }
  /** Another node holds it: its public HTTP base URL. */
  | { at: 'node'; node: string; baseUrl: string }
  /** A node holds it that is not reachable now (it died; its lease expires soon). */
  | { at: 'unavailable' };

/** What the WHEP routes need of the cluster (absent on a single host: nothing here runs). */
export interface WhepRouting {
  readonly nodeId: string;
  /** The secret every node signs tickets with. */
  readonly ticketSecret: string;
  /** This node's public HTTP base URL (cluster.publicHttpUrl, else derived). */
  selfUrl(): string;
  /** Where `camera`'s viewers go; takes the camera's lease when no node holds it. */
  route(camera: string): Promise<WhepRoute>;
  now?: () => number;
}

/** How long the ticket in a redirect is good for: the client follows at once. */
export const POST_TICKET_MS = 15_000;
/** How long a session's resource ticket (PATCH, DELETE) is good for: longer than any session lives in practice. */
export const SESSION_TICKET_MS = 24 * 3600_000;

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const ticketOf = (request: FastifyRequest): string | undefined => {
  const value = (request.query as Record<string, unknown> | undefined)?.ticket;
  return value === undefined ? undefined : String(value);
};

const refused = (reply: FastifyReply, detail: string) => {
  reply.header('www-authenticate', 'Bearer realm="lookout", error="invalid_token"');
  return sendProblem(reply, { status: 401, title: 'Unauthorized', code: 'TICKET_INVALID', detail });
};

/**
 * A preHandler that accepts `?ticket=` (a `post` ticket for the route's camera, or a `session`
 * ticket for its session, signed for this node) in place of the cookie or bearer token, and
 * otherwise runs `fallback`. The ticket's principal is read again from the registry: one revoked
 * or without the right to watch the camera since the ticket was signed is refused.
 */
export function ticketOr(
  fallback: Handler,
  deps: { routing: WhepRouting; access: Access; spent: SpentTickets },
  kind: TicketKind,
): Handler {
  return async (request, reply) => {
    const ticket = ticketOf(request);
    if (ticket === undefined) return fallback(request, reply);
    const params = request.params as { deviceId: string; sessionId?: string };
    const now = (deps.routing.now ?? Date.now)();
    const check = verifyTicket(
      deps.routing.ticketSecret,
      ticket,
      {
        kind,
        camera: params.deviceId,
        node: deps.routing.nodeId,
        ...(kind === 'session' ? { session: params.sessionId } : {}),
      },
      now,
    );
    if (!check.ok) return refused(reply, `the ticket is not valid here (${check.reason})`);
    if (kind === 'post' && !deps.spent.spend(check.claims.nonce, check.claims.expiresAt, now))
      return refused(reply, 'the ticket was used already');
    const principal = await deps.access.current(check.claims.principal);
    if (!principal) return refused(reply, 'the ticket’s principal is signed out or revoked');
    if (kind === 'post' && !may(principal, 'live', params.deviceId)) {
      return sendProblem(reply, {
        status: 403,
        title: 'Forbidden',
        code: 'CAMERA_FORBIDDEN',
        detail: `no right to watch '${params.deviceId}'`,
      });
    }
    actAs(request, principal);
  };
}

const path = (camera: string) => `/whep/${encodeURIComponent(camera)}`;

/**
 * Sends the viewer on to the node holding `camera` (307, WHEP draft §4.6 / RFC 9725 §4.5: the
 * client repeats the POST there) with a `post` ticket for `principal`, or answers 503 while the
 * holder is unreachable; answers false when the session is to be made here.
 */
export async function redirectElsewhere(
  reply: FastifyReply,
  routing: WhepRouting,
  camera: string,
  principal: string,
): Promise<boolean> {
  const route = await routing.route(camera);
  if (route.at === 'here') return false;
  if (route.at === 'unavailable') {
    reply.header('retry-after', '1');
    sendProblem(reply, {
      status: 503,
      title: 'Service Unavailable',
      code: 'CAMERA_HOLDER_UNAVAILABLE',
      detail: `the node holding '${camera}' is not reachable; it is placed again when its lease expires`,
    });
    return true;
  }
  const ticket = signTicket(routing.ticketSecret, {
    kind: 'post',
    camera,
    principal,
    node: route.node,
    expiresAt: (routing.now ?? Date.now)() + POST_TICKET_MS,
    nonce: ticketNonce(),
  });
  const location = `${route.baseUrl.replace(/\/+$/, '')}${path(camera)}?ticket=${encodeURIComponent(ticket)}`;
  reply.code(307).header('location', location).header('cache-control', 'no-store').send();
  return true;
}

/**
 * The session's resource URL (the 201's `Location`): absolute on this node, so PATCH and DELETE
 * come here whichever node (or load balancer) the client first asked, with a `session` ticket:
 * the client's own credential may not reach this origin (a cookie of another origin, a bearer
 * header dropped on a redirect).
 */
export function resourceUrl(
  routing: WhepRouting,
  camera: string,
  session: string,
  principal: string,
): string {
  const ticket = signTicket(routing.ticketSecret, {
    kind: 'session',
    camera,
    principal,
    node: routing.nodeId,
    session,
    expiresAt: (routing.now ?? Date.now)() + SESSION_TICKET_MS,
    nonce: ticketNonce(),
  });
  return `${routing.selfUrl().replace(/\/+$/, '')}${path(camera)}/sessions/${session}?ticket=${encodeURIComponent(ticket)}`;
}

export { SpentTickets };
