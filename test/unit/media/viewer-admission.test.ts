import { describe, expect, it } from 'vitest';
import { ViewerAdmission } from '../../../media/viewer-admission.js';

describe('ViewerAdmission (bounds on WHEP sessions)', () => {
  it('counts sessions being set up, per token and in all', () => {
    const admission = new ViewerAdmission({ perToken: 2, total: 3 });
    const none = { byOwner: 0, total: 0 };
    const a1 = admission.admit('a', none);
    const a2 = admission.admit('a', none);
    expect([a1.ok, a2.ok]).toEqual([true, true]);
    // Two of a's still being set up: a third is refused before any is open.
    expect(admission.admit('a', none)).toEqual({ ok: false, bound: 'per-token' });
    const b1 = admission.admit('b', none);
    expect(b1.ok).toBe(true);
    expect(admission.admit('b', none)).toEqual({ ok: false, bound: 'total' });
    // Once set up, the caller counts them as open; releasing twice changes nothing.
    for (const done of [a1, a1, a2, b1]) if (done.ok) done.release();
    expect(admission.admit('b', { byOwner: 1, total: 3 })).toEqual({ ok: false, bound: 'total' });
    expect(admission.admit('a', { byOwner: 2, total: 2 })).toEqual({ ok: false, bound: 'per-token' });
    // One of a's closed (or failed to open): room again.
    expect(admission.admit('c', { byOwner: 0, total: 2 }).ok).toBe(true);
  });
});
