import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Short-lived signed tickets that carry a viewer's authorization from the node it asked to the
 * node holding the camera (docs/cluster.md, D39). A session cookie does not cross origins and
 * browsers drop `Authorization` on a cross-origin redirect (Fetch §4.4), so the redirect's
 * `Location` carries `?ticket=`: an HMAC-SHA256 under a secret every node shares, over what the
 * ticket allows. Pure: the clock and the nonce are the caller's.
 *
 * - `post`: one WHEP POST for `camera` on node `node`, as `principal`, until `expiresAt`
 *   (seconds); the holder also spends its nonce, so it is good once.
 * - `session`: PATCH and DELETE of one WHEP session (`session`) on `node`, as `principal`; it
 *   lives as long as its session may (the principal watch ends the session when the principal
 *   loses its right; after that the ticket names a session that is gone).
 */
export type TicketKind = 'post' | 'session';

const claimsSchema = z
  .object({
    k: z.enum(['post', 'session']),
    c: z.string().min(1).max(128),
    p: z.string().min(1).max(200),
    n: z.string().min(1).max(64),
    s: z.string().min(1).max(64).optional(),
    e: z.number().int().nonnegative(),
    j: z.string().min(8).max(64),
  })
  .strict();

export interface TicketClaims {
  kind: TicketKind;
  camera: string;
  /** The principal's key (`t:<token id>`, `s:<session id>`, D34). */
  principal: string;
  /** The node that may accept it. */
  node: string;
  /** The WHEP session (kind `session` only). */
  session?: string;
  /** Epoch ms after which it is refused. */
  expiresAt: number;
  /** Makes each ticket unique; a `post` ticket is spent by it. */
  nonce: string;
}

/** Longest ticket read: anything longer is refused unread. */
export const MAX_TICKET_CHARS = 1024;
const VERSION = 'v1';

/** A fresh nonce (96 random bits). */
export const ticketNonce = (): string => randomBytes(12).toString('base64url');

const mac = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(`${VERSION}.${payload}`).digest();

/** `v1.<claims, base64url JSON>.<HMAC, base64url>` */
export function signTicket(secret: string, claims: TicketClaims): string {
  const payload = Buffer.from(
    JSON.stringify({
      k: claims.kind,
      c: claims.camera,
      p: claims.principal,
      n: claims.node,
      ...(claims.session !== undefined ? { s: claims.session } : {}),
      e: claims.expiresAt,
      j: claims.nonce,
    }),
  ).toString('base64url');
  return `${VERSION}.${payload}.${mac(secret, payload).toString('base64url')}`;
}

export type TicketCheck =
  | { ok: true; claims: TicketClaims }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'mismatch' };

/**
 * The ticket's claims when its signature is good, it has not expired at `now` and it is the
 * `kind` for `camera` (and `session`) on `node`; else why not. Never throws.
 */
export function verifyTicket(
  secret: string,
  ticket: unknown,
  expected: { kind: TicketKind; camera: string; node: string; session?: string },
  now: number,
): TicketCheck {
  if (typeof ticket !== 'string' || ticket.length > MAX_TICKET_CHARS)
    return { ok: false, reason: 'malformed' };
  const [version, payload, signature, extra] = ticket.split('.');
  if (version !== VERSION || !payload || !signature || extra !== undefined)
    return { ok: false, reason: 'malformed' };
  // Decoding is lenient (unused bits of the last character, invalid characters skipped): only
  // the canonical spelling of the signature is taken, so no two strings carry one signature.
  const given = Buffer.from(signature, 'base64url');
  const wanted = mac(secret, payload);
  if (
    given.length !== wanted.length ||
    given.toString('base64url') !== signature ||
    !timingSafeEqual(given, wanted)
  )
    return { ok: false, reason: 'signature' };
  let parsed: z.infer<typeof claimsSchema>;
  try {
    const result = claimsSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    if (!result.success) return { ok: false, reason: 'malformed' };
    parsed = result.data;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const claims: TicketClaims = {
    kind: parsed.k,
    camera: parsed.c,
    principal: parsed.p,
    node: parsed.n,
    ...(parsed.s !== undefined ? { session: parsed.s } : {}),
    expiresAt: parsed.e,
    nonce: parsed.j,
  };
  if (now >= claims.expiresAt) return { ok: false, reason: 'expired' };
  if (
    claims.kind !== expected.kind ||
    claims.camera !== expected.camera ||
    claims.node !== expected.node ||
    claims.session !== expected.session
  )
    return { ok: false, reason: 'mismatch' };
  return { ok: true, claims };
}

/**
 * The nonces of `post` tickets already spent on this node, each kept until its ticket expires;
 * at most `max` (when full of live ones, a new ticket is refused rather than memory growing).
 */
export class SpentTickets {
  readonly #spent = new Map<string, number>();

  constructor(private readonly max = 10_000) {}

  /** True the first time `nonce` is spent (before `expiresAt`); false when it was already. */
  spend(nonce: string, expiresAt: number, now: number): boolean {
    if (this.#spent.has(nonce)) return false;
    if (this.#spent.size >= this.max) {
      for (const [n, at] of this.#spent) if (at <= now) this.#spent.delete(n);
      if (this.#spent.size >= this.max) return false;
    }
    this.#spent.set(nonce, expiresAt);
    return true;
  }

  get size(): number {
    return this.#spent.size;
  }
}
