import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Requests one node of a cluster makes to another (the archive: a segment held by another node,
 * D40) carry this header: `v1 <node> <expires ms> <signature>`, the signature an HMAC-SHA256 under
 * the cluster's shared secret of the method, the request target (path and query, as sent), the
 * calling node and the expiry. A stolen header opens that one file for a few seconds, nothing else.
 * Pure: the clock is a parameter.
 */
export const NODE_AUTH_HEADER = 'x-lookout-node-auth';

/** How long a signature is good for by default. */
export const NODE_SIGNATURE_TTL_MS = 30_000;
/** Clocks of two nodes may differ by this much. */
const CLOCK_SKEW_MS = 5_000;
const MAX_HEADER_CHARS = 256;
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export type NodeVerdict =
  | { ok: true; node: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'too-long-lived' | 'bad-signature' };

function mac(secret: string, method: string, target: string, node: string, expires: number): Buffer {
  return createHmac('sha256', secret)
    .update(`lookout-node-request v1\n${method.toUpperCase()}\n${target}\n${node}\n${expires}`)
    .digest();
}

/** The header value for a request of `node` to another node, good until `now + ttlMs`. */
export function signNodeRequest(options: {
  secret: string;
  node: string;
  method: string;
  /** Path and query exactly as the request line will carry them. */
  target: string;
  now: number;
  ttlMs?: number;
}): string {
  const expires = options.now + (options.ttlMs ?? NODE_SIGNATURE_TTL_MS);
  const signature = mac(options.secret, options.method, options.target, options.node, expires);
  return `v1 ${options.node} ${expires} ${signature.toString('base64url')}`;
}

/**
 * Checks a request's node header: well formed, not expired, not good for longer than a signature
 * is ever made for (plus clock skew), and signed with `secret` for this method and target.
 * Never throws, whatever the header holds.
 */
export function verifyNodeRequest(options: {
  secret: string;
  header: string | string[] | undefined;
  method: string;
  target: string;
  now: number;
  maxTtlMs?: number;
}): NodeVerdict {
  const { header } = options;
  if (header === undefined) return { ok: false, reason: 'missing' };
  if (typeof header !== 'string' || header.length > MAX_HEADER_CHARS)
    return { ok: false, reason: 'malformed' };
  const parts = header.split(' ');
  if (parts.length !== 4 || parts[0] !== 'v1') return { ok: false, reason: 'malformed' };
  const [, node, expiresText, signatureText] = parts as [string, string, string, string];
  if (!NODE_ID.test(node) || !/^\d{1,15}$/.test(expiresText) || !/^[A-Za-z0-9_-]{43}$/.test(signatureText)) {
    return { ok: false, reason: 'malformed' };
  }
  const expires = Number(expiresText);
  if (expires <= options.now - CLOCK_SKEW_MS) return { ok: false, reason: 'expired' };
  if (expires > options.now + (options.maxTtlMs ?? NODE_SIGNATURE_TTL_MS) + CLOCK_SKEW_MS) {
    return { ok: false, reason: 'too-long-lived' };
  }
  const expected = mac(options.secret, options.method, options.target, node, expires);
  const given = Buffer.from(signatureText, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  return { ok: true, node };
}
