import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { SESSION_MAX_AGE_MS, type UserStore } from '../devices/index.js';
import { sessionSchema, setupSchema, setupStateSchema } from '../http-contract/index.js';
import type { Access } from './auth.js';
import type { FirstAdminSetup, SetupRefusal } from './first-admin-setup.js';
import { sendProblem } from './problem.js';
import { problems } from './responses.js';
import { sessionCookie, sessionDocument } from './routes-session.js';

const REFUSALS: Record<SetupRefusal, { status: number; title: string; code: string; detail: string }> = {
  closed: {
    status: 409,
    title: 'Conflict',
    code: 'SETUP_CLOSED',
    detail: 'a user exists already: sign in (an admin adds users)',
  },
  code: {
    status: 403,
    title: 'Forbidden',
    code: 'SETUP_CODE_INVALID',
    detail: 'not the setup code this server printed at start',
  },
  busy: { status: 409, title: 'Conflict', code: 'SETUP_BUSY', detail: 'the first admin is being created' },
};

/** First-run setup from the browser (D38): `GET /api/setup` (is it open?), `POST /api/setup` (the first admin, signed in). */
export function setupRoutes(
  app: FastifyInstance,
  deps: { setup: FirstAdminSetup; users: UserStore; access: Access; secure: boolean },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/setup',
    {
      schema: {
        summary: 'Whether the first admin may still be created with the setup code (no user yet).',
        tags: ['session'],
        response: { 200: setupStateSchema },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return { open: await deps.setup.open() };
    },
  );

  api.post(
    '/api/setup',
    {
      schema: {
        summary:
          'Creates the first admin with the one-time code of the first-run output, and signs it in (as POST /api/session).',
        tags: ['session'],
        body: setupSchema,
        response: { 200: sessionSchema, ...problems(400, 403, 409) },
      },
    },
    async (request, reply) => {
      const { code, username, password } = request.body;
      const result = await deps.setup.createAdmin(code, username, password);
      if ('refused' in result) {
        request.log.warn({ address: request.ip, reason: result.refused }, 'first-admin setup refused');
        return sendProblem(reply, REFUSALS[result.refused]);
      }
      request.log.info({ user: result.user.name, address: request.ip }, 'first admin created');
      const signed = await deps.users.createSession(result.user.name);
      const principal = await deps.access.fromCookie(signed.cookie);
      if (!principal) return sendProblem(reply, REFUSALS.closed); // removed in the meantime
      reply.header(
        'set-cookie',
        sessionCookie(signed.cookie, Math.floor(SESSION_MAX_AGE_MS / 1000), deps.secure),
      );
      reply.header('cache-control', 'no-store');
      return sessionDocument(principal);
    },
  );
}
