import { describe, expect, it } from 'vitest';
import {
  MAX_TICKET_CHARS,
  SpentTickets,
  signTicket,
  type TicketClaims,
  ticketNonce,
  verifyTicket,
} from '../../../api/whep-ticket.js';
import { fuzzRandom } from '../../helpers/random.js';

const SECRET = 'a-secret-every-node-shares-0123456789';
const T0 = 1_800_000_000_000;

const claims = (over: Partial<TicketClaims> = {}): TicketClaims => ({
  kind: 'post',
  camera: 'cam1',
  principal: 't:tok1',
  node: 'node-b',
  expiresAt: T0 + 15_000,
  nonce: 'nonce-0123456789',
  ...over,
});
const expectPost = { kind: 'post' as const, camera: 'cam1', node: 'node-b' };

describe('WHEP tickets (D39)', () => {
  it('verifies what it signed, with its claims, until it expires', () => {
    const ticket = signTicket(SECRET, claims());
    expect(verifyTicket(SECRET, ticket, expectPost, T0)).toEqual({ ok: true, claims: claims() });
    expect(verifyTicket(SECRET, ticket, expectPost, T0 + 14_999).ok).toBe(true);
    expect(verifyTicket(SECRET, ticket, expectPost, T0 + 15_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('is bound to its kind, camera, node and session', () => {
    const post = signTicket(SECRET, claims());
    expect(verifyTicket(SECRET, post, { ...expectPost, camera: 'cam2' }, T0)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyTicket(SECRET, post, { ...expectPost, node: 'node-c' }, T0).ok).toBe(false);
    expect(verifyTicket(SECRET, post, { ...expectPost, kind: 'session', session: 's1' }, T0).ok).toBe(false);
    const session = signTicket(SECRET, claims({ kind: 'session', session: 's1' }));
    const forSession = { kind: 'session' as const, camera: 'cam1', node: 'node-b', session: 's1' };
    expect(verifyTicket(SECRET, session, forSession, T0).ok).toBe(true);
    expect(verifyTicket(SECRET, session, { ...forSession, session: 's2' }, T0).ok).toBe(false);
    expect(verifyTicket(SECRET, session, expectPost, T0).ok).toBe(false);
  });

  it('refuses another secret, a changed claim and junk', () => {
    const ticket = signTicket(SECRET, claims());
    expect(verifyTicket('another-secret-of-another-cluster', ticket, expectPost, T0)).toEqual({
      ok: false,
      reason: 'signature',
    });
    // The same signature over claims naming another principal.
    const [v, , sig] = ticket.split('.');
    const forged = Buffer.from(
      JSON.stringify({ k: 'post', c: 'cam1', p: 't:admin', n: 'node-b', e: T0 + 1e9, j: 'nonce-0123456789' }),
    ).toString('base64url');
    expect(verifyTicket(SECRET, `${v}.${forged}.${sig}`, expectPost, T0).ok).toBe(false);
    for (const junk of [
      undefined,
      42,
      '',
      'v1',
      'v1..',
      'v2.a.b',
      `${ticket}.x`,
      'x'.repeat(MAX_TICKET_CHARS + 1),
    ])
      expect(verifyTicket(SECRET, junk, expectPost, T0).ok).toBe(false);
  });

  it('never verifies a ticket with any character changed, and never throws (fuzzed)', () => {
    const random = fuzzRandom(39);
    const ticket = signTicket(SECRET, claims());
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=%';
    for (let i = 0; i < 2000; i++) {
      const chars = [...ticket];
      const edits = 1 + random.int(4);
      for (let e = 0; e < edits; e++) chars[random.int(chars.length)] = random.pick([...alphabet]);
      const changed = chars.join('');
      if (changed === ticket) continue;
      expect(verifyTicket(SECRET, changed, expectPost, T0).ok, changed).toBe(false);
    }
  });

  it('makes fresh nonces', () => {
    const nonces = new Set(Array.from({ length: 100 }, ticketNonce));
    expect(nonces.size).toBe(100);
  });
});

describe('SpentTickets', () => {
  it('spends a nonce once', () => {
    const spent = new SpentTickets();
    expect(spent.spend('n1', T0 + 10, T0)).toBe(true);
    expect(spent.spend('n1', T0 + 10, T0 + 1)).toBe(false);
    expect(spent.spend('n2', T0 + 10, T0 + 1)).toBe(true);
  });

  it('stays bounded: expired nonces make room, live ones are never forgotten', () => {
    const spent = new SpentTickets(3);
    for (const n of ['a', 'b', 'c']) expect(spent.spend(n, T0 + 100, T0)).toBe(true);
    // Full of live nonces: a new ticket is refused rather than an old one forgotten.
    expect(spent.spend('d', T0 + 100, T0 + 50)).toBe(false);
    expect(spent.spend('a', T0 + 100, T0 + 50)).toBe(false);
    // Once they expired, room again.
    expect(spent.spend('d', T0 + 300, T0 + 100)).toBe(true);
    expect(spent.size).toBe(1);
  });
});
