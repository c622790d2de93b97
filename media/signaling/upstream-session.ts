import type { ByeReason, DeviceMessage, IceCandidateInit, SignalErrorCode } from './messages.js';

/**
 * The server side of one camera's signaling, as a pure state machine: feed it inputs
 * (demand, presence, validated device messages, timer expiries, peer state), execute the
 * actions it returns. No sockets, no clocks: the adapter owns those. One session at a time.
 *
 *   idle --demand&online--> offering --answer--> connecting --peer connected--> live
 *     ^                        |  timeout/bye/error   | timeout/failed           | bye/failed
 *     +---- linger expired ----+-------------------> waiting (back-off) --retry--+
 */

export interface UpstreamTimings {
  /** How long the camera has to answer an offer. */
  answerTimeoutMs: number;
  /** How long ICE/DTLS may take after the answer. */
  connectTimeoutMs: number;
  /** How long a session stays up after demand drops to zero. */
  lingerMs: number;
  /** First retry delay after a failed attempt; doubles per attempt. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_TIMINGS: UpstreamTimings = {
  answerTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
  lingerMs: 30_000,
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
};

export type TimerName = 'answer' | 'connect' | 'linger' | 'retry';

export type UpstreamInput =
  | { kind: 'demand'; wanted: boolean }
  | { kind: 'presence'; online: boolean }
  | { kind: 'device'; message: DeviceMessage }
  | { kind: 'invalid'; code: SignalErrorCode; reason: string; session?: string }
  | { kind: 'timer'; name: TimerName }
  | { kind: 'peer'; session: string; state: 'connected' | 'failed' }
  | { kind: 'shutdown' };

export type UpstreamAction =
  | { do: 'start'; session: string; trickle: boolean }
  | { do: 'applyAnswer'; session: string; sdp: string }
  | { do: 'addCandidate'; session: string; candidate: IceCandidateInit | null }
  | { do: 'stop'; session: string; bye?: ByeReason }
  | { do: 'sendError'; session?: string; code: SignalErrorCode; message: string }
  | { do: 'setTimer'; name: TimerName; ms: number }
  | { do: 'clearTimer'; name: TimerName }
  | { do: 'notify'; event: 'live' | 'ended'; session: string; reason?: ByeReason };

export type UpstreamPhase = 'idle' | 'offering' | 'connecting' | 'live' | 'waiting';

export class UpstreamSession {
  #phase: UpstreamPhase = 'idle';
  #session: string | undefined;
  #demand = false;
  #online = false;
  #trickle = false;
  #attempt = 0;
  #lingering = false;

  constructor(
    private readonly timings: UpstreamTimings,
    private readonly newSessionId: () => string,
  ) {}

  get phase(): UpstreamPhase {
    return this.#phase;
  }

  get session(): string | undefined {
    return this.#session;
  }

  handle(input: UpstreamInput): UpstreamAction[] {
    const out: UpstreamAction[] = [];
    switch (input.kind) {
      case 'demand':
        this.#onDemand(input.wanted, out);
        break;
      case 'presence':
        this.#onPresence(input.online, out);
        break;
      case 'device':
        this.#onDevice(input.message, out);
        break;
      case 'invalid':
        out.push({
          do: 'sendError',
          code: input.code,
          message: input.reason,
          ...(input.session ? { session: input.session } : {}),
        });
        break;
      case 'timer':
        this.#onTimer(input.name, out);
        break;
      case 'peer':
        this.#onPeer(input.session, input.state, out);
        break;
      case 'shutdown':
        this.#demand = false;
        this.#end('shutdown', true, out);
        this.#phase = 'idle';
        out.push({ do: 'clearTimer', name: 'retry' });
        break;
    }
    return out;
  }

  get #wanted(): boolean {
    return this.#demand && this.#online;
  }

  get #active(): boolean {
    return this.#phase === 'offering' || this.#phase === 'connecting' || this.#phase === 'live';
  }

  #onDemand(wanted: boolean, out: UpstreamAction[]): void {
    this.#demand = wanted;
    if (wanted) {
      if (this.#lingering) {
        this.#lingering = false;
        out.push({ do: 'clearTimer', name: 'linger' });
      }
      if (this.#phase === 'idle' && this.#online) this.#start(out);
      return;
    }
    if (this.#active && !this.#lingering) {
      this.#lingering = true;
      out.push({ do: 'setTimer', name: 'linger', ms: this.timings.lingerMs });
    } else if (this.#phase === 'waiting') {
      this.#phase = 'idle';
      out.push({ do: 'clearTimer', name: 'retry' });
    }
  }

  #onPresence(online: boolean, out: UpstreamAction[]): void {
    this.#online = online;
    if (online) {
      if (this.#phase === 'idle' && this.#demand) this.#start(out);
      return;
    }
    // The device is gone: its peer is gone too, and nobody is there to hear a bye.
    this.#end('other', false, out);
    this.#trickle = false;
    this.#attempt = 0;
    if (this.#phase === 'waiting') out.push({ do: 'clearTimer', name: 'retry' });
    this.#phase = 'idle';
  }

  #onDevice(message: DeviceMessage, out: UpstreamAction[]): void {
    if (message.type === 'hello') {
      this.#trickle = message.trickle;
      // A hello means the device (re)started: whatever session it had is gone.
      if (this.#active) {
        this.#end('other', false, out);
        this.#phase = 'idle';
      }
      if (this.#phase === 'idle' && this.#wanted) this.#start(out);
      return;
    }
    const current = this.#session !== undefined && message.session === this.#session && this.#active;
    switch (message.type) {
      case 'answer':
        if (!current || this.#phase !== 'offering') {
          out.push({
            do: 'sendError',
            session: message.session,
            code: 'UNKNOWN_SESSION',
            message: 'no offer is waiting for this session',
          });
          return;
        }
        out.push(
          { do: 'clearTimer', name: 'answer' },
          { do: 'applyAnswer', session: message.session, sdp: message.sdp },
        );
        out.push({ do: 'setTimer', name: 'connect', ms: this.timings.connectTimeoutMs });
        this.#phase = 'connecting';
        return;
      case 'candidate':
        // Late candidates for a finished session are normal; drop them quietly.
        if (current) out.push({ do: 'addCandidate', session: message.session, candidate: message.candidate });
        return;
      case 'bye':
        if (current) this.#fail(message.reason ?? 'other', false, out);
        return;
      case 'error':
        if (message.session === undefined ? this.#phase === 'offering' : current)
          this.#fail('error', false, out);
        return;
    }
  }

  #onTimer(name: TimerName, out: UpstreamAction[]): void {
    if (name === 'answer' && this.#phase === 'offering') this.#fail('timeout', true, out);
    else if (name === 'connect' && this.#phase === 'connecting') this.#fail('ice-failed', true, out);
    else if (name === 'linger' && this.#lingering) {
      this.#lingering = false;
      if (!this.#demand) {
        this.#end('no-demand', true, out);
        this.#phase = 'idle';
        this.#attempt = 0;
      }
    } else if (name === 'retry' && this.#phase === 'waiting') {
      this.#phase = 'idle';
      if (this.#wanted) this.#start(out);
    }
  }

  #onPeer(session: string, state: 'connected' | 'failed', out: UpstreamAction[]): void {
    if (session !== this.#session || !this.#active) return;
    if (state === 'connected') {
      if (this.#phase === 'live') return;
      this.#phase = 'live';
      this.#attempt = 0;
      out.push({ do: 'clearTimer', name: 'connect' }, { do: 'notify', event: 'live', session });
    } else {
      this.#fail('ice-failed', true, out);
    }
  }

  #start(out: UpstreamAction[]): void {
    this.#session = this.newSessionId();
    this.#attempt++;
    this.#phase = 'offering';
    out.push({ do: 'start', session: this.#session, trickle: this.#trickle });
    out.push({ do: 'setTimer', name: 'answer', ms: this.timings.answerTimeoutMs });
  }

  /** Ends the current session after a failure and schedules a retry if still wanted. */
  #fail(reason: ByeReason, sendBye: boolean, out: UpstreamAction[]): void {
    this.#end(reason, sendBye, out);
    if (!this.#wanted) {
      this.#phase = 'idle';
      return;
    }
    this.#phase = 'waiting';
    const delay = Math.min(
      this.timings.retryMaxMs,
      this.timings.retryBaseMs * 2 ** Math.max(0, Math.min(this.#attempt - 1, 20)),
    );
    out.push({ do: 'setTimer', name: 'retry', ms: delay });
  }

  /** Stops the current session (if any) and clears its timers; the caller sets the next phase. */
  #end(reason: ByeReason, sendBye: boolean, out: UpstreamAction[]): void {
    if (!this.#active || this.#session === undefined) return;
    const session = this.#session;
    out.push({ do: 'clearTimer', name: 'answer' }, { do: 'clearTimer', name: 'connect' });
    if (this.#lingering) {
      this.#lingering = false;
      out.push({ do: 'clearTimer', name: 'linger' });
    }
    out.push(sendBye ? { do: 'stop', session, bye: reason } : { do: 'stop', session });
    out.push({ do: 'notify', event: 'ended', session, reason });
    this.#session = undefined;
  }
}
