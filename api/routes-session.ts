import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LoginBackoff } from '../broker/login-backoff.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { SESSION_MAX_AGE_MS, type UserStore } from '../devices/index.js';
import { type SessionDocument, sessionSchema, signInSchema } from '../http-contract/index.js';
import { type Access, principalOf, requireRight, SESSION_COOKIE } from './auth.js';
import type { Principal } from './principal.js';
import { sendProblem } from './problem.js';
import { bearer, problems } from './responses.js';

/**
 * Failed sign-ins back off per (address, user name) like the broker's MQTT logins
 * (broker/login-backoff.ts): 5 free failures, then 1 s doubling to 5 min; an address
 * walking through names is held back after 30. Both tables are bounded.
 */
export const SIGN_IN_BACKOFF = {
  maxFailures: 5,
  maxAddressFailures: 30,
  windowMs: 15 * 60_000,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  maxEntries: 10_000,
};

/** The document of `GET /api/session` for a principal. */
export function sessionDocument(p: Principal): SessionDocument {
  let cameras: SessionDocument['cameras'] = null;
  if (p.grants) {
    cameras = [...p.grants]
      .filter(([id, g]) => (g.live || g.recordings) && (!p.cameras || p.cameras.has(id)))
      .map(([id, g]) => ({ id, live: g.live, recordings: g.recordings }));
  } else if (p.cameras) {
    cameras = [...p.cameras].map((id) => ({ id, live: true, recordings: true }));
  }
  return {
    kind: p.kind,
    user: p.user,
    name: p.name,
    role: p.role,
    readOnly: p.readOnly,
    cameras,
    ...(p.csrf ? { csrf: p.csrf } : {}),
  };
}

/** The `Set-Cookie` value of the session cookie (`Secure` when the server speaks HTTPS). */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Sign-in (`POST /api/session`), who am I (`GET`), sign-out (`DELETE`); D34. */
export function sessionRoutes(
  app: FastifyInstance,
  deps: { access: Access; users: UserStore; secure: boolean; log: Logger; now?: () => number },
): void {
  const backoff = new LoginBackoff(SIGN_IN_BACKOFF, deps.now);
  const warn = new RateLimitedLog(deps.log, deps.now ?? Date.now);
  const api = app.withTypeProvider<ZodTypeProvider>();
  const signedIn = requireRight(deps.access, 'view');

  api.post(
    '/api/session',
    {
      schema: {
        summary:
          'Signs in: sets the session cookie (HttpOnly, SameSite=Lax) and answers with the CSRF token.',
        tags: ['session'],
        body: signInSchema,
        response: {
          200: sessionSchema,
          ...problems(400, 401, 429),
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const address = request.ip;
      const decision = backoff.check(address, username);
      if (!decision.allowed) {
        warn.warn(
          `sign-in-backoff:${address}`,
          { address, user: username },
          'sign-in refused: too many failures (backing off)',
        );
        reply.header('retry-after', String(Math.ceil(decision.retryAfterMs / 1000)));
        return sendProblem(reply, {
          status: 429,
          title: 'Too Many Requests',
          code: 'SIGN_IN_BACKOFF',
          detail: 'too many failed sign-ins: wait and try again',
        });
      }
      const user = await deps.users.verifyPassword(username, password);
      if (!user) {
        backoff.recordFailure(address, username);
        const held = backoff.size;
        if (Math.max(held.pairs, held.addresses) >= SIGN_IN_BACKOFF.maxEntries) {
          // Past the bound the oldest failures are forgotten: say so, once per window.
          warn.warn(
            'sign-in-backoff-full',
            { limit: SIGN_IN_BACKOFF.maxEntries },
            'sign-in back-off table full: the oldest failures are forgotten',
          );
        }
        return badSignIn(reply);
      }
      backoff.recordSuccess(address, username);
      const signed = await deps.users.createSession(user.name);
      const principal = await deps.access.fromCookie(signed.cookie);
      if (!principal) return badSignIn(reply); // removed in the meantime
      reply.header(
        'set-cookie',
        sessionCookie(signed.cookie, Math.floor(SESSION_MAX_AGE_MS / 1000), deps.secure),
      );
      reply.header('cache-control', 'no-store');
      request.log.info({ user: user.name, address }, 'signed in');
      return sessionDocument(principal);
    },
  );

  api.get(
    '/api/session',
    {
      preHandler: signedIn,
      schema: {
        summary:
          'Who the caller is (session or token), its role, its cameras, and the CSRF token of a session.',
        tags: ['session'],
        ...bearer,
        response: { 200: sessionSchema, ...problems(401) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return sessionDocument(principalOf(request));
    },
  );

  api.delete(
    '/api/session',
    {
      preHandler: signedIn,
      schema: {
        summary: 'Signs out: ends the session (its live views too) and clears the cookie.',
        tags: ['session'],
        ...bearer,
        response: { 204: z.undefined().describe('Signed out.'), ...problems(401, 403) },
      },
    },
    async (request: FastifyRequest, reply) => {
      const principal = principalOf(request);
      if (principal.kind === 'session') await deps.users.endSession(principal.key.slice(2));
      reply.header('set-cookie', sessionCookie('', 0, deps.secure));
      return reply.code(204).send();
    },
  );
}

function badSignIn(reply: FastifyReply) {
  return sendProblem(reply, {
    status: 401,
    title: 'Unauthorized',
    code: 'SIGN_IN_FAILED',
    detail: 'unknown user name or wrong password',
  });
}
