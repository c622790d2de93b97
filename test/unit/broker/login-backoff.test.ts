import { describe, expect, it } from 'vitest';
import { LoginBackoff } from '../../../broker/login-backoff.js';

function setup(overrides = {}) {
  let now = 1_000_000;
  const backoff = new LoginBackoff(
    {
      maxFailures: 3,
      maxAddressFailures: 10,
      windowMs: 60_000,
      baseDelayMs: 1000,
      maxDelayMs: 8000,
      ...overrides,
    },
    () => now,
  );
  return { backoff, advance: (ms: number) => (now += ms) };
}

describe('LoginBackoff', () => {
  it('allows the free failures, then refuses with a doubling delay up to the ceiling', () => {
    const { backoff, advance } = setup();
    for (let i = 0; i < 3; i++) {
      expect(backoff.check('1.2.3.4', 'cam1')).toEqual({ allowed: true });
      backoff.recordFailure('1.2.3.4', 'cam1');
    }
    expect(backoff.check('1.2.3.4', 'cam1')).toEqual({ allowed: true });
    backoff.recordFailure('1.2.3.4', 'cam1'); // 4th: blocked 1 s
    expect(backoff.check('1.2.3.4', 'cam1')).toEqual({ allowed: false, retryAfterMs: 1000 });
    advance(1001);
    expect(backoff.check('1.2.3.4', 'cam1').allowed).toBe(true);
    backoff.recordFailure('1.2.3.4', 'cam1'); // 5th: 2 s
    expect(backoff.check('1.2.3.4', 'cam1')).toEqual({ allowed: false, retryAfterMs: 2000 });
    for (let i = 0; i < 10; i++) backoff.recordFailure('1.2.3.4', 'cam1');
    expect(backoff.check('1.2.3.4', 'cam1')).toEqual({ allowed: false, retryAfterMs: 8000 });
  });

  it('does not lock out other devices behind the same address (CGNAT)', () => {
    const { backoff } = setup();
    for (let i = 0; i < 5; i++) backoff.recordFailure('100.64.0.1', 'broken-cam');
    expect(backoff.check('100.64.0.1', 'broken-cam').allowed).toBe(false);
    expect(backoff.check('100.64.0.1', 'good-cam').allowed).toBe(true);
  });

  it('limits one address walking through usernames', () => {
    const { backoff } = setup();
    for (let i = 0; i < 11; i++) backoff.recordFailure('6.6.6.6', `guess-${i}`);
    expect(backoff.check('6.6.6.6', 'fresh-name').allowed).toBe(false);
    expect(backoff.check('7.7.7.7', 'fresh-name').allowed).toBe(true);
  });

  it('50 failures of one username, each after its refusal ends, do not lock out another username at that address', () => {
    const { backoff, advance } = setup(); // maxFailures 3, maxAddressFailures 10
    for (let i = 0; i < 50; i++) {
      const gate = backoff.check('100.64.0.1', 'broken-cam');
      if (!gate.allowed) advance(gate.retryAfterMs + 1);
      backoff.recordFailure('100.64.0.1', 'broken-cam');
    }
    expect(backoff.check('100.64.0.1', 'broken-cam').allowed).toBe(false);
    expect(backoff.check('100.64.0.1', 'good-cam')).toEqual({ allowed: true });
    // The address is still counted (the loop took longer than the window, so it starts afresh):
    // the free failures of several usernames add up.
    for (const name of ['b1', 'b2', 'b3'])
      for (let i = 0; i < 3; i++) backoff.recordFailure('100.64.0.1', name);
    backoff.recordFailure('100.64.0.1', 'b4');
    expect(backoff.check('100.64.0.1', 'fresh-cam').allowed).toBe(true);
    backoff.recordFailure('100.64.0.1', 'b4'); // 11th counted failure
    expect(backoff.check('100.64.0.1', 'fresh-cam').allowed).toBe(false);
  });

  it('never holds back a username that logged in from the address before, only its own failures do', () => {
    const { backoff } = setup();
    backoff.recordSuccess('6.6.6.6', 'known-cam');
    for (let i = 0; i < 11; i++) backoff.recordFailure('6.6.6.6', `guess-${i}`);
    expect(backoff.check('6.6.6.6', 'fresh-name').allowed).toBe(false);
    expect(backoff.check('6.6.6.6', 'known-cam')).toEqual({ allowed: true });
    for (let i = 0; i < 4; i++) backoff.recordFailure('6.6.6.6', 'known-cam');
    expect(backoff.check('6.6.6.6', 'known-cam').allowed).toBe(false);
  });

  it('forgets failures after the window and on success', () => {
    const { backoff, advance } = setup();
    for (let i = 0; i < 3; i++) backoff.recordFailure('1.1.1.1', 'a');
    advance(61_000);
    backoff.recordFailure('1.1.1.1', 'a');
    expect(backoff.check('1.1.1.1', 'a').allowed).toBe(true);
    for (let i = 0; i < 2; i++) backoff.recordFailure('1.1.1.1', 'a');
    backoff.recordSuccess('1.1.1.1', 'a');
    backoff.recordFailure('1.1.1.1', 'a');
    expect(backoff.check('1.1.1.1', 'a').allowed).toBe(true);
  });

  it('keeps memory bounded under many addresses', () => {
    const { backoff } = setup({ maxEntries: 100 });
    for (let i = 0; i < 5000; i++) {
      backoff.recordFailure(`10.0.${i >> 8}.${i & 255}`, 'x');
      backoff.recordSuccess(`10.1.${i >> 8}.${i & 255}`, 'y');
    }
    expect(backoff.size.pairs).toBeLessThanOrEqual(100);
    expect(backoff.size.addresses).toBeLessThanOrEqual(100);
    expect(backoff.size.known).toBeLessThanOrEqual(100);
  });

  it('is off when the limits are 0', () => {
    const { backoff } = setup({ maxFailures: 0, maxAddressFailures: 0 });
    for (let i = 0; i < 100; i++) backoff.recordFailure('1.1.1.1', 'a');
    expect(backoff.check('1.1.1.1', 'a').allowed).toBe(true);
  });
});
