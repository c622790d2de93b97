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
  helloGraceMs: 50,
};

function machine() {
  let n = 0;
  const m = new UpstreamSession(timings, () => `session-${String(++n).padStart(4, '0')}`);
  const feed = (...inputs: UpstreamInput[]) => inputs.flatMap((i) => m.handle(i));
  return { m, feed };
}

const kinds = (actions: UpstreamAction[]) => actions.map((a) => a.do);
const hello = (trickle = false): UpstreamInput => ({
  kind: 'device',
  message: { v: 1, type: 'hello', trickle },
});
const ready = (session: string): UpstreamInput => ({ kind: 'offerReady', session });
const answer = (session: string): UpstreamInput => ({
  kind: 'device',
  message: { v: 1, type: 'answer', session, sdp: SDP },
});
const offersIn = (actions: UpstreamAction[]) => actions.filter((a) => a.do === 'sendOffer');

/** Online, wanted, hello said, offer ready and sent: the camera holds the offer of session-0001. */
function offered() {
  const t = machine();
  t.feed(
    { kind: 'presence', online: true },
    hello(),
    { kind: 'demand', wanted: true },
    ready('session-0001'),
  );
  return t;
}

describe('UpstreamSession', () => {
  it('offers when demand meets an online device that said hello, and goes live on answer + connected peer', () => {
    const { m, feed } = machine();
    expect(feed({ kind: 'demand', wanted: true })).toEqual([]); // device offline: nothing to do
    expect(feed({ kind: 'presence', online: true })).toEqual([
      { do: 'setTimer', name: 'hello', ms: 50 },
      { do: 'start', session: 'session-0001' },
      { do: 'setTimer', name: 'answer', ms: 100 },
    ]);
    expect(feed(ready('session-0001'))).toEqual([]); // built, but held for the hello
    expect(feed(hello(true))).toEqual([
      { do: 'clearTimer', name: 'hello' },
      { do: 'sendOffer', session: 'session-0001', trickle: true },
      { do: 'setTimer', name: 'answer', ms: 100 },
    ]);
    expect(feed(answer('session-0001'))).toEqual([
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

  it('sends exactly one offer to a camera whose hello comes while the offer is being built', () => {
    const { feed } = machine();
    const actions = feed(
      { kind: 'demand', wanted: true },
      { kind: 'presence', online: true },
      hello(),
      hello(), // a second hello (reconnect, retry): still the same offer
      ready('session-0001'),
      { kind: 'timer', name: 'hello' }, // a stale grace expiry changes nothing
    );
    expect(kinds(actions).filter((k) => k === 'start')).toHaveLength(1);
    expect(offersIn(actions)).toEqual([{ do: 'sendOffer', session: 'session-0001', trickle: false }]);
  });

  it('offers without a hello once the grace has passed (cameras that never say hello still work)', () => {
    const { feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true }, ready('session-0001'));
    expect(feed({ kind: 'timer', name: 'hello' })).toEqual([
      { do: 'sendOffer', session: 'session-0001', trickle: false },
      { do: 'setTimer', name: 'answer', ms: 100 },
    ]);
  });

  it('offers at once when the device came online long ago (the adapter passes graceMs 0)', () => {
    const { feed } = machine();
    expect(feed({ kind: 'presence', online: true, graceMs: 0 })).toEqual([]);
    feed({ kind: 'demand', wanted: true });
    expect(offersIn(feed(ready('session-0001')))).toHaveLength(1);
  });

  it('keeps a hello that arrives before the presence (two topics, no order)', () => {
    const { feed } = machine();
    feed(hello(true), { kind: 'demand', wanted: true });
    expect(kinds(feed({ kind: 'presence', online: true }))).toEqual(['start', 'setTimer']); // no grace timer
    expect(offersIn(feed(ready('session-0001')))).toEqual([
      { do: 'sendOffer', session: 'session-0001', trickle: true },
    ]);
  });

  it('ends a session whose offer was sent when hello comes again, and sends a fresh offer (newest wins)', () => {
    const { feed } = offered();
    const again = feed(hello(true));
    expect(again).toContainEqual({ do: 'stop', session: 'session-0001' });
    expect(again).toContainEqual({ do: 'start', session: 'session-0002' });
    expect(offersIn(feed(ready('session-0002')))).toEqual([
      { do: 'sendOffer', session: 'session-0002', trickle: true },
    ]);
  });

  it('builds no new session for a flood of hellos while one is being built', () => {
    const { feed } = offered();
    feed(hello()); // ends session-0001, starts session-0002
    const flood = feed(...Array.from({ length: 1000 }, () => hello()));
    expect(kinds(flood).filter((k) => k === 'start' || k === 'stop')).toEqual([]);
    expect(offersIn(feed(ready('session-0002')))).toHaveLength(1);
  });

  it('refuses an answer for an offer not sent yet', () => {
    const { feed } = machine();
    feed({ kind: 'presence', online: true }, { kind: 'demand', wanted: true }, ready('session-0001'));
    expect(kinds(feed(answer('session-0001')))).toEqual(['sendError']);
  });

  it('lingers after demand drops, then says bye; new demand during the linger keeps the session', () => {
    const { m, feed } = offered();
    feed(answer('session-0001'), { kind: 'peer', session: 'session-0001', state: 'connected' });
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
    const { feed } = offered();
    const delays: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const timeout = feed({ kind: 'timer', name: 'answer' });
      expect(timeout).toContainEqual({ do: 'stop', session: `session-000${i}`, bye: 'timeout' });
      delays.push((timeout.find((a) => a.do === 'setTimer') as { ms: number }).ms);
      expect(kinds(feed({ kind: 'timer', name: 'retry' }))).toEqual(['start', 'setTimer']);
      expect(offersIn(feed(ready(`session-000${i + 1}`)))).toHaveLength(1); // hello already seen
    }
    expect(delays).toEqual([10, 20, 40, 40]);
  });

  it('restarts when the camera says bye or fails ICE while still wanted', () => {
    const { m, feed } = offered();
    const bye = feed({
      kind: 'device',
      message: { v: 1, type: 'bye', session: 'session-0001', reason: 'source-ended' },
    });
    expect(bye).toContainEqual({ do: 'stop', session: 'session-0001' }); // no bye back
    expect(m.phase).toBe('waiting');
    feed({ kind: 'timer', name: 'retry' }, ready('session-0002'), answer('session-0002'));
    expect(feed({ kind: 'timer', name: 'connect' })).toContainEqual({
      do: 'stop',
      session: 'session-0002',
      bye: 'ice-failed',
    });
  });

  it('drops the session silently when the device goes offline and waits for a new hello when it returns', () => {
    const { m, feed } = offered();
    const off = feed({ kind: 'presence', online: false });
    expect(off).toContainEqual({ do: 'stop', session: 'session-0001' });
    expect(m.phase).toBe('idle');
    expect(kinds(feed({ kind: 'presence', online: true }))).toEqual(['setTimer', 'start', 'setTimer']);
    expect(feed(ready('session-0002'))).toEqual([]); // the old hello does not count
    expect(offersIn(feed(hello()))).toHaveLength(1);
  });

  it('answers stale or unknown answers with UNKNOWN_SESSION and ignores stale candidates', () => {
    const { feed } = offered();
    expect(feed(answer('someone-else'))).toEqual([
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
    const { m, feed } = offered();
    expect(feed({ kind: 'shutdown' })).toContainEqual({
      do: 'stop',
      session: 'session-0001',
      bye: 'shutdown',
    });
    expect(m.phase).toBe('idle');
    expect(feed({ kind: 'timer', name: 'retry' })).toEqual([]);
  });
});

describe('UpstreamSession under random input (seeded)', () => {
  it.each([1, 20_261_206, 424_242])('keeps its invariants (seed %i)', (seed) => {
    const random = fuzzRandom(seed).next;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const sessions = ['session-0001', 'session-0002', 'session-0003', 'bogus-session'];
    for (let run = 0; run < 150; run++) {
      const { m } = machine();
      const open = new Set<string>();
      const offeredSessions = new Set<string>();
      // What the camera did since it last came online, as the machine should see it.
      let online = false;
      let helloSinceOnline = false;
      let graceFired = false;
      for (let step = 0; step < 200; step++) {
        const input: UpstreamInput = pick<() => UpstreamInput>([
          () => ({ kind: 'demand', wanted: random() < 0.5 }),
          () => ({ kind: 'presence', online: random() < 0.7 }),
          () => ({ kind: 'timer', name: pick(['answer', 'connect', 'linger', 'retry', 'hello'] as const) }),
          () => ({ kind: 'peer', session: pick(sessions), state: pick(['connected', 'failed'] as const) }),
          () => ({ kind: 'offerReady', session: m.session ?? pick(sessions) }),
          () => answer(m.session ?? pick(sessions)),
          () => ({ kind: 'device', message: { v: 1, type: 'bye', session: m.session ?? pick(sessions) } }),
          () => hello(random() < 0.5),
          () => ({ kind: 'shutdown' }),
        ])();
        const buildingBefore = m.phase === 'offering' && m.offerStep !== 'sent';
        const actions = m.handle(input);
        if (input.kind === 'presence') {
          if (!input.online) {
            helloSinceOnline = false;
            graceFired = false;
          }
          online = input.online;
        }
        if (input.kind === 'device' && input.message.type === 'hello') {
          helloSinceOnline = true;
          if (buildingBefore)
            expect(kinds(actions), 'a hello joins the offer being built').not.toContain('start');
        }
        if (input.kind === 'timer' && input.name === 'hello' && online) graceFired = true;
        for (const action of actions) {
          if (action.do === 'start') {
            expect(open.size, 'never two sessions at once').toBe(0);
            open.add(action.session);
          }
          if (action.do === 'stop') {
            expect(open.has(action.session), 'stop only what was started').toBe(true);
            open.delete(action.session);
          }
          if (action.do === 'sendOffer') {
            expect(open.has(action.session), 'offer only the open session').toBe(true);
            expect(offeredSessions.has(action.session), 'one offer per session').toBe(false);
            expect(helloSinceOnline || graceFired, 'offer only after hello or grace').toBe(true);
            offeredSessions.add(action.session);
          }
          if (action.do === 'applyAnswer') {
            expect(open.has(action.session)).toBe(true);
            expect(offeredSessions.has(action.session), 'answer only to an offer sent').toBe(true);
          }
          if (action.do === 'addCandidate') expect(open.has(action.session)).toBe(true);
        }
        expect(open.size === 1).toBe(['offering', 'connecting', 'live'].includes(m.phase));
      }
    }
  });
});
