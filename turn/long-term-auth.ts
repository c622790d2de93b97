import { createHash } from 'node:crypto';
import { readString } from './attributes.js';
import { parseTurnUsername, turnPassword } from './credentials.js';
import type { NonceIssuer } from './nonce.js';
import { Attr, type StunMessage, verifyIntegrity } from './stun-message.js';

/**
 * The long-term credential mechanism (RFC 8489 §9.2.4) with TURN REST API credentials:
 * the password is derived from the shared secret and the username `<expiry>:<deviceId>:<generation>`,
 * the key is MD5(username:realm:password). Pure apart from the injected clock.
 */

export type AuthResult =
  | { ok: true; username: string; deviceId: string; generation: number | undefined; key: Buffer }
  /** Reject with `code`; `challenge` adds REALM and a fresh NONCE (401/438). */
  | { ok: false; code: 400 | 401 | 438; reason: string; challenge: boolean };

export interface AuthContext {
  realm: string;
  secret: string;
  nonces: NonceIssuer;
  now: () => number;
}

export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/** Checks the request's credentials; `clientIp` binds the nonce to the requester. */
export function authenticate(message: StunMessage, clientIp: string, ctx: AuthContext): AuthResult {
  const hasIntegrity = message.attributes.some((a) => a.type === Attr.messageIntegrity);
  if (!hasIntegrity) return { ok: false, code: 401, reason: 'Unauthorized', challenge: true };
  const username = readString(message, Attr.username, 513);
  const realm = readString(message, Attr.realm, 763);
  const nonce = readString(message, Attr.nonce, 763);
  // RFC 8489 §9.2.4: MESSAGE-INTEGRITY without USERNAME, REALM or NONCE is a 400.
  if (username === undefined || realm === undefined || nonce === undefined) {
    return { ok: false, code: 400, reason: 'Bad Request', challenge: false };
  }
  const nonceState = ctx.nonces.check(nonce, clientIp);
  if (nonceState !== 'valid') return { ok: false, code: 438, reason: 'Stale Nonce', challenge: true };
  const parsed = parseTurnUsername(username);
  if (realm !== ctx.realm || !parsed || parsed.expiresAt * 1000 <= ctx.now()) {
    return { ok: false, code: 401, reason: 'Unauthorized', challenge: true };
  }
  const key = longTermKey(username, ctx.realm, turnPassword(ctx.secret, username));
  if (!verifyIntegrity(message, key))
    return { ok: false, code: 401, reason: 'Unauthorized', challenge: true };
  return { ok: true, username, deviceId: parsed.user, generation: parsed.generation, key };
}
