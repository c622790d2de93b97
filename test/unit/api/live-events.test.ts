import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type DeviceSummary, LiveEventHub, type LiveSources } from '../../../api/live-events.js';
import type { Principal } from '../../../api/principal.js';
import { captureLog } from '../../helpers/log.js';
import { waitFor } from '../../helpers/wait-for.js';

/** In-memory live state: a device list, presence the test drives. */
function memorySources(devices: DeviceSummary[] | Promise<DeviceSummary[]> = []) {
  const listeners = new Set<(id: string, online: boolean) => void>();
  const sources: LiveSources = {
    devices: () => devices,
    isOnline: () => false,
    onPresence(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recording: () => ({ state: 'off' }),
  };
  const presence = (id: string, online: boolean) => {
    for (const listener of listeners) listener(id, online);
  };
  return { sources, presence };
}

/** A sink that reads everything (`reads`) or nothing at all (a client that stopped reading). */
function sink(reads: boolean) {
  const text: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text.push(String(chunk));
      if (reads) done(); // else: never acknowledged, so writableLength grows
    },
  });
  return { stream, text };
}

const limits = { heartbeatMs: 60_000, maxPerToken: 2, maxStreams: 3, maxBufferedBytes: 1024 };
/** Every stream's principal stays an admin (the rights checks have their own tests). */
const admin = async (key: string): Promise<Principal> => ({
  key,
  kind: 'token',
  name: key,
  user: null,
  role: 'admin',
  grants: undefined,
  cameras: null,
  readOnly: false,
});
const hub = (sources: LiveSources, log = captureLog().log, now = Date.now) =>
  new LiveEventHub(limits, { sources, principals: { current: admin }, log, version: 'v', now });

describe('LiveEventHub', () => {
  it('closes a stream whose client does not read once its buffered bytes pass the bound', async () => {
    const { sources, presence } = memorySources();
    const { lines, log } = captureLog();
    const h = hub(sources, log);
    const slow = sink(false);
    const fast = sink(true);
    for (const s of [slow, fast]) {
      const admission = h.admit(s === slow ? 'slow' : 'fast');
      if (!admission.ok) throw new Error('refused');
      await admission.attach(s.stream);
    }
    for (let i = 0; i < 50; i++) presence(`cam${i}`, true);
    expect(slow.stream.destroyed).toBe(true);
    expect(h.size).toBe(1);
    expect(lines.filter((l) => l.msg === 'event stream closed: the client does not read')).toHaveLength(1);
    await waitFor(() => fast.text.filter((t) => t.startsWith('event: presence')).length === 50, {
      what: 'every event at the reading client',
    });
    h.close();
    expect(fast.stream.writableEnded).toBe(true);
  });

  it('bounds the events held for a stream whose snapshot is not written yet', async () => {
    const { sources, presence } = memorySources(new Promise(() => {})); // the registry never answers
    const h = hub(sources);
    const s = sink(true);
    const admission = h.admit('t');
    if (!admission.ok) throw new Error('refused');
    void admission.attach(s.stream);
    for (let i = 0; i < 1001; i++) presence('cam', i % 2 === 0);
    expect(s.stream.destroyed).toBe(true);
    expect(h.size).toBe(0);
    h.close();
  });

  it('refuses past the per-token and total bounds, one log line per window', () => {
    const { sources } = memorySources();
    const { lines, log } = captureLog();
    let now = 0;
    const h = hub(sources, log, () => now);
    expect([h.admit('a').ok, h.admit('a').ok, h.admit('a').ok, h.admit('a').ok]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(h.admit('b').ok).toBe(true);
    expect(h.admit('c')).toEqual({ ok: false, limit: 'total' });
    expect(h.admit('c')).toEqual({ ok: false, limit: 'total' });
    const refused = (msg: string) => lines.filter((l) => l.msg === msg);
    expect(refused('event stream refused: too many open for this token')).toHaveLength(1);
    expect(refused('event stream refused: too many open in all')).toHaveLength(1);
    now += 10_000;
    expect(h.admit('c').ok).toBe(false);
    expect(refused('event stream refused: too many open in all')).toHaveLength(2);
    expect(refused('event stream refused: too many open in all')[1]).toMatchObject({ suppressed: 1 });
    h.close();
    expect(h.size).toBe(0);
    expect(h.admit('d')).toEqual({ ok: false, limit: 'total' }); // closed
  });
});
