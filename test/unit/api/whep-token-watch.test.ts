import { describe, expect, it } from 'vitest';
import { WhepTokenWatch } from '../../../api/whep-token-watch.js';
import { silentLogger } from '../../../core/log.js';

/** In-memory sessions and tokens: the watch's decisions, polled by hand (its timer never fires here). */
function harness(owners: string[], active: Set<string>) {
  const sessions = new Map(owners.map((owner, i) => [`s${i}`, owner]));
  const ended: string[] = [];
  let failReads = false;
  const watch = new WhepTokenWatch(
    {
      sessionOwners: () => new Set(sessions.values()),
      endSessionsOf: async (owner) => {
        ended.push(owner);
        await new Promise((resolve) => setImmediate(resolve)); // closing peer connections takes a while
        let n = 0;
        for (const [id, o] of sessions) if (o === owner && sessions.delete(id)) n++;
        return n;
      },
    },
    {
      isActive: async (id) => {
        if (failReads) throw new Error('database is closed');
        return active.has(id);
      },
    },
    silentLogger(),
    3_600_000,
  );
  return { watch, sessions, ended, failReads: () => (failReads = true) };
}

describe('WhepTokenWatch', () => {
  it('ends the sessions of owners no longer active, once per owner, and leaves the others', async () => {
    const h = harness(['a', 'a', 'b', 'c'], new Set(['b']));
    const first = h.watch.poll();
    h.watch.poll(); // while the first ending is under way: not asked twice
    await first;
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.ended.sort()).toEqual(['a', 'c']);
    expect([...h.sessions.values()]).toEqual(['b']);
    h.watch.close();
  });

  it('never rejects when the token store cannot be read (it runs on a timer)', async () => {
    const h = harness(['a'], new Set());
    h.failReads();
    await expect(h.watch.poll()).resolves.toBeUndefined();
    expect(h.ended).toEqual([]);
    h.watch.close();
  });
});
