import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingGate } from '../../../broker/pending-gate.js';
import { type Logger, silentLogger } from '../../../core/log.js';
import { RateLimitedLog } from '../../../core/rate-limited-log.js';

// The socket-side rules of the pending-connection caps, on in-memory streams with fake timers.
let warnings: string[];
let gate: PendingGate;

beforeEach(() => {
  vi.useFakeTimers();
  warnings = [];
  const capture = {
    warn: (_fields: unknown, message: string) => warnings.push(message),
  } as unknown as Logger;
  gate = new PendingGate(
    { maxPendingPerAddress: 2, maxPending: 3 },
    1000,
    new RateLimitedLog(capture, () => Date.now(), 10_000),
    silentLogger(),
  );
});
afterEach(() => {
  gate.close();
  vi.useRealTimers();
});

describe('PendingGate', () => {
  it('destroys a connection over the per-address cap at once, logging once per window', () => {
    const streams = Array.from({ length: 5 }, () => new PassThrough());
    const tickets = streams.map((s) => gate.admit(s, '1.1.1.1', 'tcp'));
    expect(tickets.filter(Boolean)).toHaveLength(2);
    expect(streams.slice(2).every((s) => s.destroyed)).toBe(true);
    expect(warnings).toEqual([
      'connection refused: too many connections from this address have not logged in',
    ]);
    expect(gate.pending).toBe(2);
  });

  it('destroys a connection that has not logged in by the deadline, and frees its slot', () => {
    const slow = new PassThrough();
    const quick = new PassThrough();
    gate.admit(slow, '1.1.1.1', 'tls');
    gate.admit(quick, '1.1.1.1', 'tls')!.loggedIn();
    expect(gate.pending).toBe(1);
    vi.advanceTimersByTime(999);
    expect(slow.destroyed).toBe(false);
    vi.advanceTimersByTime(2);
    expect(slow.destroyed).toBe(true);
    expect(quick.destroyed).toBe(false);
    expect(gate.pending).toBe(0);
  });

  it('frees the slot when the connection closes first, and caps the total across addresses', async () => {
    const a = new PassThrough();
    gate.admit(a, '1.1.1.1', 'ws');
    gate.admit(new PassThrough(), '2.2.2.2', 'ws');
    gate.admit(new PassThrough(), '3.3.3.3', 'ws');
    const over = new PassThrough();
    expect(gate.admit(over, '4.4.4.4', 'ws')).toBeUndefined();
    expect(over.destroyed).toBe(true);
    a.destroy();
    await vi.waitFor(() => expect(gate.pending).toBe(2));
    expect(gate.admit(new PassThrough(), '4.4.4.4', 'ws')).toBeDefined();
    expect(warnings).toContain('connection refused: too many connections have not logged in');
  });
});
