import { describe, expect, it } from 'vitest';
import { Authenticator, CONNACK } from '../../../broker/authenticator.js';
import { LoginBackoff } from '../../../broker/login-backoff.js';
import type { VerifyResult } from '../../../devices/index.js';

/** A registry that answers each secret check only when the test releases it (PostgreSQL's latency). */
function slowRegistry() {
  const waiting: Array<() => void> = [];
  const devices = {
    verifySecret: (_id: string, secret: string) =>
      new Promise<VerifyResult>((resolve) =>
        waiting.push(() =>
          resolve(secret === 'right' ? { ok: true, generation: 1 } : { ok: false, reason: 'wrong-secret' }),
        ),
      ),
  };
  return { devices, waiting };
}

function authenticator(devices: { verifySecret(id: string, secret: string): Promise<VerifyResult> }) {
  const backoff = new LoginBackoff(
    { maxFailures: 3, maxAddressFailures: 10, windowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 8000 },
    () => 1_000_000,
  );
  return new Authenticator({ devices, backoff, serviceSecret: 's'.repeat(32), topicPrefix: 'lookout' });
}

const attempt = (address: string, password: string) => ({
  clientId: 'cam1',
  username: 'cam1',
  password: Buffer.from(password),
  address,
  willTopic: undefined,
});

/** Releases the registry's answers as they are asked for, until `until` settles. */
async function answerAll(waiting: Array<() => void>, until: Promise<unknown>): Promise<void> {
  let settled = false;
  void until.finally(() => {
    settled = true;
  });
  while (!settled) {
    waiting.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('Authenticator with a registry that answers later', () => {
  it('decides the attempts of one address one after another: the back-off counts every failure', async () => {
    const { devices, waiting } = slowRegistry();
    const auth = authenticator(devices);
    // Ten wrong secrets at once from one address: 3 free failures, a 4th that blocks, then refusals.
    const outcomes = Promise.all(
      Array.from({ length: 10 }, () => auth.authenticate(attempt('10.0.0.1', 'wrong'))),
    );
    await answerAll(waiting, outcomes);
    const codes = (await outcomes).map((o) => (o.ok ? 0 : o.returnCode));
    expect(codes).toEqual([4, 4, 4, 4, 5, 5, 5, 5, 5, 5]);
    // The registry was asked only for the attempts the back-off let through.
    expect(waiting).toHaveLength(0);
  });

  it('lets other addresses through side by side, and the right secret in', async () => {
    const { devices, waiting } = slowRegistry();
    const auth = authenticator(devices);
    const a = auth.authenticate(attempt('10.0.0.1', 'right'));
    const b = auth.authenticate(attempt('10.0.0.2', 'right'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiting).toHaveLength(2); // both asked at once
    await answerAll(waiting, Promise.all([a, b]));
    expect((await a).ok && (await b).ok).toBe(true);
  });

  it('rejects (for the broker to answer "server unavailable") when the registry fails, and goes on', async () => {
    const failing = {
      verifySecret: async () => {
        throw Object.assign(new Error('down'), { code: 'REGISTRY_UNAVAILABLE' });
      },
    };
    const auth = authenticator(failing);
    await expect(auth.authenticate(attempt('10.0.0.1', 'x'))).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
    });
    await expect(auth.authenticate(attempt('10.0.0.1', 'x'))).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
    });
    expect(CONNACK.SERVER_UNAVAILABLE).toBe(3);
  });
});
