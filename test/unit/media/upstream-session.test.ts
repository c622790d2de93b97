import { describe, expect, it } from 'vitest';
import {
  type UpstreamAction,
  type UpstreamInput,
  UpstreamSession,
} from '../../../media/signaling/upstream-session.js';
import { fuzzRandom } from '../../helpers/random.js';

const SDP = 'v=0\r\n';
const timings = {
  answerTimeoutMs: 100,
  connectTimeoutMs: 200,
  lingerMs: 300,
  retryBaseMs: 10,
  retryMaxMs: 40,
};

function machine() {
  let n = 0;
  const m = new UpstreamSession(timings, () => `session-${String(++n).padStart(4, '0')}`);
  const feed = (...inputs: UpstreamInput[]) => inputs.flatMap((i) => m.handle(i));
  return { m, feed };
}

const kinds = (actions: UpstreamAction[]) => actions.map((a) => a.do);

describe('UpstreamSession', () => {
  it('offers when demand meets an online device, and goes live on answer + connected peer', () => {
    const { m, feed } = machine();
    expect(feed({ kind: 'demand', wanted: true })).toEqual([]); // device offline: nothing to do
    const start = feed({ kind: 'presence', online: true });
    expect(start).toEqual([
      { do: 'start', session: 'session-0001', trickle: false },
      { do: 'setTimer', name: 'answer', ms: 100 },
    ]);
    expect(
      feed({ kind: 'device', message: { v: 1, type: 'answer', session: 'session-0001', sdp: SDP } }),
    ).toEqual([
      { do: 'clearTimer', name: 'answer' },
      { do: 'applyAnswer', session: 'session-0001', sdp: SDP },
      { do: 'setTimer', name: 'connect', ms: 200 },
    ]);
    expect(feed({ kind: 'peer', session: 'session-0001', state: 'connected' })).toEqual([
      { do: 'clearTimer', name: 'connect' },
      { do: 'notify', event: 'live', session: 'session-0001' },
    ]);
    expect(m.phase).toBe('live');
  });

  it('lingers after demand drops, then says bye; new demand during the linger keeps the session', () => {
    const { m, feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    feed({ kind: 'device', message: { v: 1, type: 'answer', session: 'session-0001', sdp: SDP } });
    feed({ kind: 'peer', session: 'session-0001', state: 'connected' });
    expect(feed({ kind: 'demand', wanted: false })).toEqual([{ do: 'setTimer', name: 'linger', ms: 300 }]);
    expect(feed({ kind: 'demand', wanted: true })).toEqual([{ do: 'clearTimer', name: 'linger' }]);
    expect(feed({ kind: 'timer', name: 'linger' })).toEqual([]); // stale expiry after clear: ignored
    expect(m.phase).toBe('live');
    feed({ kind: 'demand', wanted: false });
    const bye = feed({ kind: 'timer', name: 'linger' });
    expect(bye).toContainEqual({ do: 'stop', session: 'session-0001', bye: 'no-demand' });
    expect(m.phase).toBe('idle');
  });

  it('retries with a doubling back-off when the camera does not answer', () => {
    const { feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    const delays: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const timeout = feed({ kind: 'timer', name: 'answer' });
      expect(timeout).toContainEqual({ do: 'stop', session: `session-000${i}`, bye: 'timeout' });
      delays.push((timeout.find((a) => a.do === 'setTimer') as { ms: number }).ms);
      expect(kinds(feed({ kind: 'timer', name: 'retry' }))).toEqual(['start', 'setTimer']);
    }
    expect(delays).toEqual([10, 20, 40, 40]);
  });

  it('restarts when the camera says bye or fails ICE while still wanted', () => {
    const { m, feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    const bye = feed({
      kind: 'device',
      message: { v: 1, type: 'bye', session: 'session-0001', reason: 'source-ended' },
    });
    expect(bye).toContainEqual({ do: 'stop', session: 'session-0001' }); // no bye back
    expect(m.phase).toBe('waiting');
    feed({ kind: 'timer', name: 'retry' });
    feed({ kind: 'device', message: { v: 1, type: 'answer', session: 'session-0002', sdp: SDP } });
    expect(feed({ kind: 'timer', name: 'connect' })).toContainEqual({
      do: 'stop',
      session: 'session-0002',
      bye: 'ice-failed',
    });
  });

  it('drops the session silently when the device goes offline and offers again when it returns', () => {
    const { m, feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    const off = feed({ kind: 'presence', online: false });
    expect(off).toContainEqual({ do: 'stop', session: 'session-0001' });
    expect(m.phase).toBe('idle');
    expect(kinds(feed({ kind: 'presence', online: true }))).toEqual(['start', 'setTimer']);
  });

  it('treats hello as a device restart and honours its trickle flag', () => {
    const { feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    const hello = feed({ kind: 'device', message: { v: 1, type: 'hello', trickle: true } });
    expect(hello).toContainEqual({ do: 'stop', session: 'session-0001' });
    expect(hello).toContainEqual({ do: 'start', session: 'session-0002', trickle: true });
  });

  it('answers stale or unknown answers with UNKNOWN_SESSION and ignores stale candidates', () => {
    const { feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    expect(
      feed({ kind: 'device', message: { v: 1, type: 'answer', session: 'someone-else', sdp: SDP } }),
    ).toEqual([
      {
        do: 'sendError',
        session: 'someone-else',
        code: 'UNKNOWN_SESSION',
        message: 'no offer is waiting for this session',
      },
    ]);
    expect(
      feed({
        kind: 'device',
        message: { v: 1, type: 'candidate', session: 'someone-else', candidate: null },
      }),
    ).toEqual([]);
    expect(
      feed({
        kind: 'device',
        message: { v: 1, type: 'candidate', session: 'session-0001', candidate: null },
      }),
    ).toEqual([{ do: 'addCandidate', session: 'session-0001', candidate: null }]);
    expect(feed({ kind: 'invalid', code: 'BAD_MESSAGE', reason: 'not valid JSON' })).toEqual([
      { do: 'sendError', code: 'BAD_MESSAGE', message: 'not valid JSON' },
    ]);
  });

  it('says bye on shutdown', () => {
    const { m, feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true });
    expect(feed({ kind: 'shutdown' })).toContainEqual({
      do: 'stop',
      session: 'session-0001',
      bye: 'shutdown',
    });
    expect(m.phase).toBe('idle');
    expect(feed({ kind: 'timer', name: 'retry' })).toEqual([]);
  });

  it('keeps its invariants under random input', () => {
    const sessions = ['session-0001', 'session-0002', 'session-0003', 'bogus-session'];
    const random = fuzzRandom(156);
    const pick = <T>(xs: readonly T[]) => random.pick(xs);
    for (let run = 0; run < 200; run++) {
      const { m } = machine();
      const open = new Set<string>();
      for (let step = 0; step < 200; step++) {
        const input: UpstreamInput = pick<() => UpstreamInput>([
          () => ({ kind: 'demand', wanted: random.chance(0.5) }),
          () => ({ kind: 'presence', online: random.chance(0.7) }),
          () => ({ kind: 'timer', name: pick(['answer', 'connect', 'linger', 'retry'] as const) }),
          () => ({ kind: 'peer', session: pick(sessions), state: pick(['connected', 'failed'] as const) }),
          () => ({
            kind: 'device',
            message: { v: 1, type: 'answer', session: m.session ?? pick(sessions), sdp: SDP },
          }),
          () => ({ kind: 'device', message: { v: 1, type: 'bye', session: m.session ?? pick(sessions) } }),
          () => ({ kind: 'device', message: { v: 1, type: 'hello', trickle: random.chance(0.5) } }),
          () => ({ kind: 'shutdown' }),
        ])();
        for (const action of m.handle(input)) {
          if (action.do === 'start') {
            expect(open.size, 'never two sessions at once').toBe(0);
            open.add(action.session);
          }
          if (action.do === 'stop') {
            expect(open.has(action.session), 'stop only what was started').toBe(true);
            open.delete(action.session);
          }
          if (action.do === 'applyAnswer' || action.do === 'addCandidate')
            expect(open.has(action.session)).toBe(true);
        }
        expect(open.size === 1).toBe(['offering', 'connecting', 'live'].includes(m.phase));
      }
    }
  });
});
