import { describe, expect, it } from 'vitest';
import { withLivePresence } from '../../../cli/live-presence.js';
import type { Device } from '../../../devices/index.js';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');

const device = (id: string, online: boolean, lastSeenAt: number | null): Device =>
  ({ id, name: id, online, lastSeenAt }) as Device;

describe('withLivePresence', () => {
  const rows = [device('cam1', true, T0), device('cam2', false, T0 - 60_000), device('cam3', false, null)];
  const reader = {
    list: async () => rows,
    get: async (id: string) => rows.find((d) => d.id === id),
  };
  const known = new Map([
    // Disconnected 50 ms ago: the registry's batched write has not happened yet.
    ['cam1', { online: false, at: T0 + 5000 }],
    // The same as the registry says: the registry's row is answered as it is.
    ['cam2', { online: false, at: T0 }],
  ]);
  const live = withLivePresence(reader, (id) => known.get(id));

  it("answers the broker's state where it differs from the registry's, with the time of the change", async () => {
    expect(await live.list()).toEqual([
      device('cam1', false, T0 + 5000),
      device('cam2', false, T0 - 60_000),
      device('cam3', false, null),
    ]);
    expect(await live.get('cam1')).toEqual(device('cam1', false, T0 + 5000));
    expect(await live.get('cam3')).toEqual(device('cam3', false, null));
    expect(await live.get('nope')).toBeUndefined();
  });
});
