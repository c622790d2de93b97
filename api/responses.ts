import { problemSchema } from '../http-contract/index.js';

const REASONS: Record<number, string> = {
  400: 'Bad request (the problem says what).',
  401: 'Not signed in: no API token or session cookie, or an unknown, revoked or ended one.',
  403: 'Signed in, but without the right for this (camera), a read-only token, or a missing CSRF header.',
  404: 'No such device, segment, session or recording.',
  409: 'Conflicts with the current state.',
  413: 'Too large for one request (export a shorter range).',
  415: 'Wrong Content-Type.',
  429: 'A limit of this token was reached.',
  500: 'Server error (see the server log).',
  503: 'Unavailable now; try again (Retry-After). `NODE_UNAVAILABLE`: the cluster node holding the recording is down.',
};

/** Problem responses (RFC 9457, `application/problem+json`) for these statuses, as route schemas. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: REASONS[status] ?? 'Error.',
        content: { 'application/problem+json': { schema: problemSchema } },
      },
    ]),
  );
}

/** What a protected route declares: an API token (`Authorization: Bearer`) or the session cookie (D34). */
export const bearer: { security: Array<Record<string, string[]>> } = {
  security: [{ bearer: [] }, { session: [] }],
};
