import { describe, expect, it } from 'vitest';
import { ActiveDevices, type CredentialState, type Device } from '../../../devices/index.js';

const device = (id: string, generation: number, revoked = false): Device => ({
  id,
  name: id,
  createdAt: 0,
  lastSeenAt: null,
  online: false,
  revokedAt: revoked ? 1 : null,
  secretGeneration: generation,
  recording: { mode: 'off', active: false, maxAgeHours: null },
});

/** A registry whose answers to credentialState() the test releases one by one, in any order. */
function store(devices: Device[]) {
  const pending: Array<{ id: string; answer: (s: CredentialState | undefined) => void }> = [];
  return {
    pending,
    list: async () => devices,
    credentialState: (id: string) =>
      new Promise<CredentialState | undefined>((answer) => pending.push({ id, answer })),
  };
}

describe('ActiveDevices', () => {
  it('copies the active devices and keeps them fresh; an older answer arriving late is dropped', async () => {
    const s = store([device('cam1', 1), device('cam2', 3, true)]);
    const active = new ActiveDevices(s);
    await active.load();
    expect(active.generation('cam1')).toBe(1);
    expect(active.has('cam2')).toBe(false);
    active.verified('cam3', 2);
    expect(active.generation('cam3')).toBe(2);
    active.changed(device('cam1', 2));
    expect(active.generation('cam1')).toBe(2);
    active.changed(device('cam1', 2, true));
    expect(active.has('cam1')).toBe(false);

    const first = active.refresh('cam3');
    const second = active.refresh('cam3');
    s.pending[1]!.answer({ generation: 5, revoked: false }); // the newer read answers first
    await second;
    s.pending[0]!.answer(undefined); // the older one says "gone": stale, ignored
    await first;
    expect(active.generation('cam3')).toBe(5);

    // Deleted here: gone at once, and a read started before the delete cannot bring it back.
    const before = active.refresh('cam3');
    active.forget('cam3');
    expect(active.has('cam3')).toBe(false);
    s.pending[2]!.answer({ generation: 5, revoked: false });
    await before;
    expect(active.has('cam3')).toBe(false);
  });

  it('reads the database as it stands when it answers synchronously (SQLite)', async () => {
    const states = new Map<string, CredentialState>([['cam1', { generation: 4, revoked: false }]]);
    const active = new ActiveDevices(store([]), { credentialState: (id) => states.get(id) });
    await active.load();
    expect(active.generation('cam1')).toBe(4);
    states.set('cam1', { generation: 4, revoked: true });
    expect(active.has('cam1')).toBe(false);
    states.set('cam2', { generation: 1, revoked: false });
    expect(active.generation('cam2')).toBe(1);
  });
});
