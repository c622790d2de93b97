import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Access, may, type Principal, type Right } from './principal.js';
import { sendProblem } from './problem.js';

export { Access, may, type Principal, type Right, seesCamera, type TokenVerifier } from './principal.js';

/** The cookie a signed-in browser carries (HttpOnly, SameSite=Lax, Secure under HTTPS). */
export const SESSION_COOKIE = 'lookout_session';
/** On POST/PATCH/DELETE made with the session cookie this header must carry the session's CSRF token. */
export const CSRF_HEADER = 'x-lookout-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The principal each authenticated request came with (set by requireRight). */
const principals = new WeakMap<FastifyRequest, Principal>();

/** The principal that authenticated `request`; throws when the route has no requireRight. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new Error('principalOf() on a route without requireRight');
  return principal;
}

/** Marks `request` as made by `principal` (another preHandler authenticated it: a WHEP ticket, D39). */
export function actAs(request: FastifyRequest, principal: Principal): void {
  principals.set(request, principal);
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header && /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}

/** One cookie's value from the Cookie header (RFC 6265 §5.4), bounded; undefined when absent. */
export function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * `?access_token=` (RFC 6750 §2.3), accepted only where a browser cannot send headers
 * (a `<video src>` or a download link). The request log never shows query strings.
 */
function queryToken(request: FastifyRequest): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof value === 'string' ? value : undefined;
}

export interface RightOptions {
  /** The camera the right applies to (the route's device id). */
  camera?: (request: FastifyRequest) => string;
  /** Also accept the token as `?access_token=` (media downloads, EventSource). */
  allowQuery?: boolean;
}

const unauthorized = (reply: FastifyReply, code: string, detail: string) => {
  reply.header('www-authenticate', 'Bearer realm="lookout"');
  return sendProblem(reply, { status: 401, title: 'Unauthorized', code, detail });
};

const forbidden = (reply: FastifyReply, code: string, detail: string) =>
  sendProblem(reply, { status: 403, title: 'Forbidden', code, detail });

/**
 * The one preHandler of every API route (D34): finds the principal (a bearer token, the
 * token in the query where allowed, else the session cookie), checks the CSRF header on a
 * state-changing request made with the cookie, then the right (on the route's camera).
 */
export function requireRight(access: Access, right: Right, options: RightOptions = {}) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request) ?? (options.allowQuery ? queryToken(request) : undefined);
    let principal: Principal | undefined;
    if (token !== undefined) {
      principal = await access.fromToken(token);
      if (!principal) {
        reply.header('www-authenticate', 'Bearer realm="lookout", error="invalid_token"');
        return sendProblem(reply, {
          status: 401,
          title: 'Unauthorized',
          code: 'TOKEN_INVALID',
          detail: 'unknown or revoked token',
        });
      }
    } else {
      const cookie = cookieValue(request, SESSION_COOKIE);
      if (cookie === undefined) {
        return unauthorized(
          reply,
          'TOKEN_MISSING',
          'sign in (POST /api/session) or send Authorization: Bearer <token> (`lookout token create`)',
        );
      }
      principal = await access.fromCookie(cookie);
      if (!principal) return unauthorized(reply, 'SESSION_INVALID', 'the session ended: sign in again');
      if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== principal.csrf) {
        return forbidden(reply, 'CSRF_INVALID', `send the session's CSRF token in ${CSRF_HEADER}`);
      }
    }
    const camera = options.camera?.(request);
    if (!may(principal, right, camera)) {
      if (right === 'admin') {
        return forbidden(
          reply,
          'FORBIDDEN',
          principal.readOnly
            ? 'this token is read-only'
            : 'only an admin (with an unlimited token) may do this',
        );
      }
      return forbidden(
        reply,
        'CAMERA_FORBIDDEN',
        `no right to ${right === 'live' ? 'watch' : right} '${camera}'`,
      );
    }
    principals.set(request, principal);
  };
}

/** Any signed-in principal: the routes that filter what they show by camera. */
export function requireToken(access: Access, options: { allowQuery?: boolean } = {}) {
  return requireRight(access, 'view', options);
}
