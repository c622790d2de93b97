import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../api/principal.js';
import { PrincipalWatch } from '../../../api/principal-watch.js';
import { silentLogger } from '../../../core/log.js';
import { waitFor } from '../../helpers/wait-for.js';

const viewer = (key: string, grants: Record<string, { live: boolean; recordings: boolean }>): Principal => ({
  key,
  kind: 'session',
  name: key,
  user: key,
  role: 'viewer',
  grants: new Map(Object.entries(grants)),
  cameras: null,
  readOnly: false,
});

/** In-memory sessions and principals: the watch's decisions, polled by hand (its timer never fires here). */
function harness(
  sessionList: Array<[owner: string, camera: string]>,
  principals: Map<string, Principal>,
  intervalMs = 3_600_000,
) {
  const sessions = new Map(sessionList.map(([owner, camera], i) => [`s${i}`, { owner, camera }]));
  const ended: string[] = [];
  let failReads = false;
  const watch = new PrincipalWatch(
    {
      sessionCameras: () => {
        const owners = new Map<string, Set<string>>();
        for (const { owner, camera } of sessions.values())
          owners.set(owner, (owners.get(owner) ?? new Set()).add(camera));
        return owners;
      },
      endSessionsOf: async (owner, _reason, camera) => {
        ended.push(camera === undefined ? owner : `${owner} ${camera}`);
        await new Promise((resolve) => setImmediate(resolve)); // closing peer connections takes a while
        let n = 0;
        for (const [id, s] of sessions)
          if (s.owner === owner && (camera === undefined || s.camera === camera) && sessions.delete(id)) n++;
        return n;
      },
    },
    {
      current: async (key) => {
        if (failReads) throw new Error('database is closed');
        return principals.get(key);
      },
    },
    silentLogger(),
    intervalMs,
  );
  return { watch, sessions, ended, failReads: () => (failReads = true) };
}

const settle = async () => {
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
};

describe('PrincipalWatch', () => {
  it('ends the sessions of principals gone, once per owner, and leaves the others', async () => {
    const b = viewer('s:b', { cam1: { live: true, recordings: false } });
    const h = harness(
      [
        ['t:a', 'cam1'],
        ['t:a', 'cam2'],
        ['s:b', 'cam1'],
        ['s:c', 'cam1'],
      ],
      new Map([['s:b', b]]),
    );
    const first = h.watch.poll();
    h.watch.poll(); // while the first ending is under way: not asked twice
    await first;
    await settle();
    expect(h.ended.sort()).toEqual(['s:c', 't:a']);
    expect([...h.sessions.values()]).toEqual([{ owner: 's:b', camera: 'cam1' }]);
    h.watch.close();
  });

  it('ends only the sessions on a camera whose live right was taken away', async () => {
    const principals = new Map([
      [
        's:b',
        viewer('s:b', { cam1: { live: true, recordings: true }, cam2: { live: true, recordings: true } }),
      ],
    ]);
    const h = harness(
      [
        ['s:b', 'cam1'],
        ['s:b', 'cam2'],
      ],
      principals,
    );
    await h.watch.poll();
    expect(h.ended).toEqual([]);
    principals.set(
      's:b',
      viewer('s:b', { cam1: { live: true, recordings: true }, cam2: { live: false, recordings: true } }),
    );
    await h.watch.poll();
    await settle();
    expect(h.ended).toEqual(['s:b cam2']);
    expect([...h.sessions.values()]).toEqual([{ owner: 's:b', camera: 'cam1' }]);
    h.watch.close();
  });

  it('runs its timer only while a session is open, and again from the next session opened', async () => {
    const h = harness([], new Map(), 5);
    expect(h.watch.running).toBe(true);
    await waitFor(() => !h.watch.running, { timeoutMs: 10_000, what: 'the idle watch to stop its timer' });
    // A session opens, then its token is revoked: the timer, started again, ends the session.
    h.sessions.set('s0', { owner: 't:a', camera: 'cam1' });
    h.watch.sessionOpened();
    expect(h.watch.running).toBe(true);
    await waitFor(() => h.ended.includes('t:a'), { timeoutMs: 10_000, what: 'the revoked session ended' });
    await waitFor(() => h.sessions.size === 0 && !h.watch.running, {
      timeoutMs: 10_000,
      what: 'the timer stopped with the last session',
    });
    h.watch.close();
    h.watch.sessionOpened(); // closed: stays stopped
    expect(h.watch.running).toBe(false);
  });

  it('never rejects when the registry cannot be read (it runs on a timer)', async () => {
    const h = harness([['t:a', 'cam1']], new Map());
    h.failReads();
    await expect(h.watch.poll()).resolves.toBeUndefined();
    expect(h.ended).toEqual([]);
    h.watch.close();
  });
});
