import { randomBytes } from 'node:crypto';
import type { SecretHasher } from './secrets.js';

/** Session cookie values: a prefix and 256 random bits, base64url (D34). */
export const SESSION_PREFIX = 'lks_';

export function newSessionCookie(): string {
  return SESSION_PREFIX + randomBytes(32).toString('base64url');
}

/** Whether `value` can be a session cookie (checked before hashing). */
export function sessionCookieShape(value: string): boolean {
  return value.length === SESSION_PREFIX.length + 43 && value.startsWith(SESSION_PREFIX);
}

/**
 * The CSRF token of a session: derived from its cookie under the registry key, so it is
 * never stored and a page can learn it only from the sign-in answer or `GET /api/session`.
 */
export function csrfFor(hasher: SecretHasher, cookie: string): string {
  return hasher.hash(`csrf:${cookie}`).subarray(0, 24).toString('base64url');
}
