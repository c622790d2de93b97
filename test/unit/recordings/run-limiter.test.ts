import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../core/errors.js';
import { RunLimiter } from '../../../recordings/run-limiter.js';
import { fuzzRandom } from '../../helpers/random.js';

/** A task that ends when told to. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, task: () => opened };
}

const LIMITS = { overall: 2, perKey: 1, queued: 3, queuedPerKey: 2, busyCode: 'THUMBNAIL_BUSY' };

describe('RunLimiter', () => {
  it('bounds tasks per key and overall, and lets another key past a busy one', async () => {
    const limiter = new RunLimiter(LIMITS);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const run = (key: string, name: string) => {
      const g = gate();
      gates.set(name, g);
      return limiter.run(key, () => {
        started.push(name);
        return g.task();
      });
    };
    const a1 = run('a', 'a1');
    const a2 = run('a', 'a2');
    const b1 = run('b', 'b1');
    expect(started).toEqual(['a1', 'b1']);
    expect(limiter.load).toEqual({ running: 2, waiting: 1 });
    const c1 = run('c', 'c1');
    gates.get('a1')!.open();
    await a1;
    // a2 waited first and a's slot is free again.
    expect(started).toEqual(['a1', 'b1', 'a2']);
    gates.get('b1')!.open();
    await b1;
    expect(started).toEqual(['a1', 'b1', 'a2', 'c1']);
    gates.get('a2')!.open();
    gates.get('c1')!.open();
    await Promise.all([a2, c1]);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses with its code when the queue is full, per key and overall', async () => {
    const limiter = new RunLimiter(LIMITS);
    const g = gate();
    const running = [limiter.run('a', g.task), limiter.run('b', g.task)];
    const queued = [limiter.run('a', g.task), limiter.run('a', g.task)];
    const refusedForKey = await limiter.run('a', g.task).catch((err: unknown) => err);
    expect(hasCode(refusedForKey, 'THUMBNAIL_BUSY')).toBe(true);
    queued.push(limiter.run('b', g.task));
    const refusedOverall = await limiter.run('c', g.task).catch((err: unknown) => err);
    expect(hasCode(refusedOverall, 'THUMBNAIL_BUSY')).toBe(true);
    g.open();
    await Promise.all([...running, ...queued]);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });

  it('never exceeds its bounds and finishes every accepted task (fuzzed)', async () => {
    const random = fuzzRandom(7);
    const limiter = new RunLimiter({ ...LIMITS, overall: 3, perKey: 2, queued: 10, queuedPerKey: 5 });
    const perKey = new Map<string, number>();
    let running = 0;
    let peak = 0;
    const accepted: Array<Promise<unknown>> = [];
    for (let i = 0; i < 300; i++) {
      const key = `k${random.int(4)}`;
      const task = async () => {
        running++;
        perKey.set(key, (perKey.get(key) ?? 0) + 1);
        peak = Math.max(peak, running);
        expect(perKey.get(key)).toBeLessThanOrEqual(2);
        for (let n = random.int(3); n > 0; n--) await Promise.resolve();
        if (random.chance(0.2)) throw new Error('task failed');
        running--;
        perKey.set(key, perKey.get(key)! - 1);
      };
      const wrapped = async () => {
        try {
          await task();
        } catch (err) {
          running--;
          perKey.set(key, perKey.get(key)! - 1);
          throw err;
        }
      };
      accepted.push(limiter.run(key, wrapped).catch((err: Error) => err.message));
      if (random.chance(0.3)) await Promise.resolve();
    }
    await Promise.all(accepted);
    expect(peak).toBeLessThanOrEqual(3);
    expect(running).toBe(0);
    expect(limiter.load).toEqual({ running: 0, waiting: 0 });
  });
});
