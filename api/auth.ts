import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken } from '../devices/index.js';
import { sendProblem } from './problem.js';

export interface TokenVerifier {
  verify(token: string): Promise<ApiToken | undefined>;
  /** Whether the token with this id exists and is not revoked (no bookkeeping, one indexed read). */
  isActive(id: string): Promise<boolean>;
}

/** The token each authenticated request came with (set by requireToken). */
const requestTokens = new WeakMap<FastifyRequest, ApiToken>();

/** The API token that authenticated `request`; throws when the route has no requireToken. */
export function tokenOf(request: FastifyRequest): ApiToken {
  const token = requestTokens.get(request);
  if (!token) throw new Error('tokenOf() on a route without requireToken');
  return token;
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header && /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}

/**
 * `?access_token=` (RFC 6750 §2.3), accepted only where a browser cannot send headers
 * (a `<video src>` or a download link). The request log never shows query strings.
 */
function queryToken(request: FastifyRequest): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof value === 'string' ? value : undefined;
}

/**
 * A preHandler that lets through only requests with a valid API token; `allowQuery`
 * also accepts it as `?access_token=` (media downloads only).
 */
export function requireToken(tokens: TokenVerifier, options: { allowQuery?: boolean } = {}) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request) ?? (options.allowQuery ? queryToken(request) : undefined);
    if (!token) {
      reply.header('www-authenticate', 'Bearer realm="lookout"');
      return sendProblem(reply, {
        status: 401,
        title: 'Unauthorized',
        code: 'TOKEN_MISSING',
        detail: 'send Authorization: Bearer <token> (create one with `lookout token create`)',
      });
    }
    const verified = await tokens.verify(token);
    if (!verified) {
      reply.header('www-authenticate', 'Bearer realm="lookout", error="invalid_token"');
      return sendProblem(reply, {
        status: 401,
        title: 'Unauthorized',
        code: 'TOKEN_INVALID',
        detail: 'unknown or revoked token',
      });
    }
    requestTokens.set(request, verified);
  };
}
