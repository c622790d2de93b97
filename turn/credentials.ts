import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest-00, as coturn implements
 * `use-auth-secret`): username `<expiry unix seconds>:<deviceId>:<secret generation>`, password
 * base64(HMAC-SHA1(secret, username)). The generation (bumped by every `device rotate`) is
 * under the HMAC, so a credential names the device secret it was issued under and the embedded
 * server refuses it once the device is rotated (issue 9, item 10). coturn reads only the expiry
 * before the first colon. Service users (`$media`) carry no generation. Pure: no clock, no I/O.
 */
export interface TurnCredentials {
  username: string;
  credential: string;
  /** Unix seconds after which a TURN server refuses the credentials. */
  expiresAt: number;
}

export function issueTurnCredentials(options: {
  secret: string;
  deviceId: string;
  /** The device's secret generation; omitted for service users. */
  generation?: number | undefined;
  ttlSeconds: number;
  nowMs: number;
}): TurnCredentials {
  const expiresAt = Math.floor(options.nowMs / 1000) + options.ttlSeconds;
  const generation = options.generation === undefined ? '' : `:${options.generation}`;
  const username = `${expiresAt}:${options.deviceId}${generation}`;
  return { username, credential: turnPassword(options.secret, username), expiresAt };
}

export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Splits a REST API username `<expiry>:<user>[:<generation>]`; undefined when it is not one.
 * `generation` is undefined when the username carries none.
 */
export function parseTurnUsername(
  username: string,
): { expiresAt: number; user: string; generation: number | undefined } | undefined {
  const match = /^(\d{1,12}):([^:]{1,128})(?::(\d{1,9}))?$/.exec(username);
  if (!match) return undefined;
  return {
    expiresAt: Number(match[1]),
    user: match[2]!,
    generation: match[3] === undefined ? undefined : Number(match[3]),
  };
}

/** True when `password` is the secret's password for `username` and it has not expired. */
export function verifyTurnCredentials(
  secret: string,
  username: string,
  password: string,
  nowMs: number,
): boolean {
  const parsed = parseTurnUsername(username);
  if (!parsed || parsed.expiresAt * 1000 <= nowMs) return false;
  const expected = Buffer.from(turnPassword(secret, username));
  const given = Buffer.from(password);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
