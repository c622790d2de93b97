import { problemSchema } from '../http-contract/index.js';

const REASONS: Record<number, string> = {
  400: 'Bad request (the problem says what).',
  401: 'No API token, or an unknown or revoked one.',
  404: 'No such device, segment, session or recording.',
  409: 'Conflicts with the current state.',
  415: 'Wrong Content-Type.',
  429: 'A limit of this token was reached.',
  500: 'Server error (see the server log).',
  503: 'Unavailable now; try again (Retry-After).',
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

/** What a route protected by an API token declares (`Authorization: Bearer`). */
export const bearer = { security: [{ bearer: [] }] };
