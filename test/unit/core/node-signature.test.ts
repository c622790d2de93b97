import { describe, expect, it } from 'vitest';
import { signNodeRequest, verifyNodeRequest } from '../../../core/node-signature.js';
import { fuzzRandom } from '../../helpers/random.js';

const secret = 'a-cluster-secret-of-enough-length';
const target = '/internal/archive/segments/42.mp4';
const signed = (now: number, extra: Partial<Parameters<typeof signNodeRequest>[0]> = {}) =>
  signNodeRequest({ secret, node: 'node-b', method: 'GET', target, now, ...extra });
const verify = (header: string | string[] | undefined, now: number, extra = {}) =>
  verifyNodeRequest({ secret, header, method: 'GET', target, now, ...extra });

describe('node request signatures (D40)', () => {
  it('accepts its own signature until it expires and names the calling node', () => {
    const header = signed(1_000_000);
    expect(header).toMatch(/^v1 node-b 1030000 [A-Za-z0-9_-]{43}$/);
    expect(verify(header, 1_000_000)).toEqual({ ok: true, node: 'node-b' });
    expect(verify(header, 1_029_999)).toEqual({ ok: true, node: 'node-b' });
    // Clocks of two nodes may differ by a few seconds.
    expect(verify(header, 1_034_000)).toEqual({ ok: true, node: 'node-b' });
    expect(verify(header, 1_035_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('is bound to the method, the target, the node, the expiry and the secret', () => {
    const header = signed(1_000_000);
    expect(verifyNodeRequest({ secret, header, method: 'DELETE', target, now: 1_000_000 })).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    for (const other of [
      '/internal/archive/segments/43.mp4',
      `${target}?x=1`,
      '/internal/archive/segments/42/thumbnail.jpg',
    ]) {
      expect(verifyNodeRequest({ secret, header, method: 'GET', target: other, now: 1_000_000 }).ok).toBe(
        false,
      );
    }
    expect(
      verifyNodeRequest({ secret: `${secret}x`, header, method: 'GET', target, now: 1_000_000 }).ok,
    ).toBe(false);
    const [v, , expires, signature] = header.split(' ');
    expect(verify([v, 'node-c', expires, signature].join(' '), 1_000_000)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verify([v, 'node-b', String(Number(expires) + 1), signature].join(' '), 1_000_000)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a signature good for longer than any node makes', () => {
    expect(verify(signed(1_000_000, { ttlMs: 3_600_000 }), 1_000_000)).toEqual({
      ok: false,
      reason: 'too-long-lived',
    });
  });

  it('refuses missing and malformed headers without throwing', () => {
    expect(verify(undefined, 0)).toEqual({ ok: false, reason: 'missing' });
    for (const header of [
      '',
      'v1',
      'v2 node-b 1 AAAA',
      'v1 node b 1 x',
      `v1 ../etc 1030000 ${'A'.repeat(43)}`,
      `v1 node-b -5 ${'A'.repeat(43)}`,
      `v1 node-b 1e9 ${'A'.repeat(43)}`,
      `v1 node-b 1030000 ${'A'.repeat(44)}`,
      'x'.repeat(10_000),
      ['a', 'b'],
    ]) {
      expect(verify(header, 1_000_000)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('never accepts a mutated header (seeded fuzz)', () => {
    const random = fuzzRandom(40);
    const header = signed(1_000_000);
    const alphabet = 'abcAZ09-_ .v';
    for (let i = 0; i < 2_000; i++) {
      const chars = [...header];
      const at = random.int(chars.length);
      const replacement = random.pick([...alphabet]);
      if (chars[at] === replacement) continue;
      chars[at] = replacement;
      const mutated = chars.join('');
      const verdict = verify(mutated, 1_000_000);
      // Only the last character of the signature carries unused bits (43 base64 characters hold
      // 258 bits for 256): changing it may decode the same; any other change fails.
      if (verdict.ok) expect(at).toBe(header.length - 1);
    }
  });
});
