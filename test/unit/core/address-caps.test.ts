import { describe, expect, it } from 'vitest';
import { AddressCaps } from '../../../core/address-caps.js';
import { fuzzRandom } from '../../helpers/random.js';

describe('AddressCaps', () => {
  it('caps connections per address, other addresses unaffected', () => {
    const pending = new AddressCaps({ perAddress: 2, total: 10 });
    expect(pending.admit('1.1.1.1')).toEqual({ ok: true });
    expect(pending.admit('1.1.1.1')).toEqual({ ok: true });
    expect(pending.admit('1.1.1.1')).toEqual({ ok: false, limit: 'address' });
    expect(pending.admit('2.2.2.2')).toEqual({ ok: true });
    expect(pending.total).toBe(3);
    pending.release('1.1.1.1');
    expect(pending.admit('1.1.1.1')).toEqual({ ok: true });
  });

  it('caps connections in all, and frees slots on release', () => {
    const pending = new AddressCaps({ perAddress: 100, total: 3 });
    for (const a of ['a', 'b', 'c']) expect(pending.admit(a).ok).toBe(true);
    expect(pending.admit('d')).toEqual({ ok: false, limit: 'total' });
    pending.release('b');
    expect(pending.admit('d').ok).toBe(true);
  });

  it('forgets an address once its last connection is released; a stray release is harmless', () => {
    const pending = new AddressCaps({ perAddress: 5, total: 5 });
    pending.admit('a');
    pending.admit('a');
    pending.release('a');
    pending.release('a');
    pending.release('a');
    pending.release('never-seen');
    expect(pending.total).toBe(0);
    expect(pending.addresses).toBe(0);
  });

  it('stays consistent under a seeded random admit/release sequence', () => {
    const random = fuzzRandom(42).next;
    const pending = new AddressCaps({ perAddress: 4, total: 20 });
    const open: string[] = [];
    for (let i = 0; i < 5000; i++) {
      if (random() < 0.55) {
        const address = `10.0.0.${Math.floor(random() * 8)}`;
        if (pending.admit(address).ok) open.push(address);
      } else if (open.length > 0) {
        pending.release(open.splice(Math.floor(random() * open.length), 1)[0]!);
      }
      expect(pending.total).toBe(open.length);
      expect(pending.total).toBeLessThanOrEqual(20);
    }
  });
});
