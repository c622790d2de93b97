import type { FastifyReply } from 'fastify';
import type { ProblemDocument } from '../http-contract/index.js';

/** RFC 9457 problem details; `code` is Lookout's stable error code (schema: http-contract/common.ts). */
export type Problem = Omit<ProblemDocument, 'type'>;

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: 'about:blank', ...problem });
}

/** Maps an error code raised by a component to an HTTP status. */
export function statusForCode(code: string): number {
  if (code.endsWith('_NOT_FOUND')) return 404;
  // A request of another node without a valid signature (D40).
  if (code === 'NODE_AUTH_INVALID') return 401;
  if (code.endsWith('_EXISTS')) return 409;
  if (code.endsWith('_INVALID') || code.endsWith('_TOO_LONG')) return 400;
  if (code.endsWith('_CONFLICT') || code === 'SEGMENT_WRITING') return 409;
  if (code === 'NO_RECORDINGS' || code === 'NO_STILL') return 404;
  if (code === 'STILL_TIMEOUT') return 504;
  // User administration refused by a rule (api/user-admin-rules.ts): it conflicts with the users as they are.
  if (code === 'USER_SELF_REMOVE' || code === 'LAST_ADMIN') return 409;
  if (code.endsWith('_BUSY')) return 503;
  if (code.endsWith('_TOO_LARGE')) return 413;
  // The node holding a recording is not in the cluster or does not answer (D40).
  if (code === 'NODE_UNAVAILABLE') return 503;
  // The registry's database is down (PostgreSQL): the route needs it; try again shortly.
  if (code === 'REGISTRY_UNAVAILABLE' || code === 'REDIS_UNAVAILABLE') return 503;
  return 500;
}
