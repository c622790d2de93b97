import { describe, expect, it } from 'vitest';
import { type PresenceChange, type PresenceTimers, PresenceWriter } from '../../../broker/presence-writer.js';
import { silentLogger } from '../../../core/log.js';

/** Manual timers: the test decides when the interval ends. */
function manualTimers() {
  const armed = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const timers: PresenceTimers = {
    setTimeout: (fn, ms) => {
      armed.set(next, { fn, ms });
      return next++;
    },
    clearTimeout: (h) => {
      armed.delete(h as number);
    },
  };
  const fire = () => {
    for (const [h, t] of [...armed]) {
      armed.delete(h);
      t.fn();
    }
  };
  return { timers, armed, fire };
}

function writer(fail = false) {
  const batches: PresenceChange[][] = [];
  const clock = manualTimers();
  const w = new PresenceWriter(
    {
      recordPresence: async (changes) => {
        if (fail) throw new Error('database is closed');
        batches.push([...changes]);
      },
    },
    100,
    silentLogger(),
    clock.timers,
  );
  return { w, batches, clock };
}

describe('PresenceWriter', () => {
  it('writes every change of one interval in one batch, once the interval ends', async () => {
    const { w, batches, clock } = writer();
    for (let i = 0; i < 1000; i++) w.record(`cam${i}`, true, 1000 + i);
    expect(batches).toEqual([]);
    expect(clock.armed.size).toBe(1);
    expect([...clock.armed.values()][0]!.ms).toBe(100);
    clock.fire();
    await w.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(1000);
    expect(batches[0]![999]).toEqual({ id: 'cam999', online: true, at: 1999 });
    expect(w.pending).toBe(0);
  });

  it('keeps only the last change per device, with the time it happened', async () => {
    const { w, batches, clock } = writer();
    w.record('cam1', true, 1);
    w.record('cam2', true, 2);
    w.record('cam1', false, 3);
    clock.fire();
    await w.flush();
    expect(batches).toEqual([
      [
        { id: 'cam2', online: true, at: 2 },
        { id: 'cam1', online: false, at: 3 },
      ],
    ]);
  });

  it('arms no timer while idle and a new one after each flush', async () => {
    const { w, batches, clock } = writer();
    clock.fire();
    await w.flush();
    expect(batches).toEqual([]);
    w.record('cam1', true, 1);
    clock.fire();
    await w.flush();
    w.record('cam1', false, 2);
    expect(clock.armed.size).toBe(1);
    clock.fire();
    await w.flush();
    expect(batches).toEqual([[{ id: 'cam1', online: true, at: 1 }], [{ id: 'cam1', online: false, at: 2 }]]);
  });

  it('flushes on close and writes later changes at once', async () => {
    const { w, batches, clock } = writer();
    w.record('cam1', true, 1);
    await w.close();
    expect(clock.armed.size).toBe(0);
    expect(batches).toEqual([[{ id: 'cam1', online: true, at: 1 }]]);
    w.record('cam1', false, 2);
    await w.flush();
    expect(batches).toEqual([[{ id: 'cam1', online: true, at: 1 }], [{ id: 'cam1', online: false, at: 2 }]]);
    await w.close();
    expect(batches).toHaveLength(2);
  });

  it('logs instead of throwing when the registry refuses the batch', async () => {
    const { w, clock } = writer(true);
    w.record('cam1', true, 1);
    expect(() => clock.fire()).not.toThrow();
    await expect(w.flush()).resolves.toBeUndefined();
    expect(w.pending).toBe(0);
  });

  it('writes batches one after the other, in order, however slow the registry answers', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const gates: Array<() => void> = [];
    const clock = manualTimers();
    const w = new PresenceWriter(
      {
        recordPresence: async (changes) => {
          started.push(changes[0]!.at);
          await new Promise<void>((resolve) => gates.push(resolve));
          finished.push(changes[0]!.at);
        },
      },
      100,
      silentLogger(),
      clock.timers,
    );
    w.record('cam1', true, 1);
    clock.fire();
    w.record('cam1', false, 2);
    clock.fire();
    const closed = w.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1]); // the second waits for the first
    gates.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2]);
    gates.shift()!();
    await closed;
    expect(finished).toEqual([1, 2]);
  });
});
