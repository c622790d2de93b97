import type { ByeReason, DeviceMessage } from './messages.js';
import type {
  OfferStep,
  TimerName,
  UpstreamAction,
  UpstreamInput,
  UpstreamPhase,
  UpstreamTimings,
} from './upstream-types.js';

export {
  DEFAULT_TIMINGS,
  type OfferStep,
  type TimerName,
  type UpstreamAction,
  type UpstreamInput,
  type UpstreamPhase,
  type UpstreamTimings,
} from './upstream-types.js';

/**
 * The server side of one camera's signaling, as a pure state machine: feed it inputs
 * (demand, presence, validated device messages, timer expiries, peer state), execute the
 * actions it returns. No sockets, no clocks: the adapter owns those. One session at a time.
 *
 *   idle --demand&online--> offering --answer--> connecting --peer connected--> live
 *     ^                        |  timeout/bye/error   | timeout/failed           | bye/failed
 *     +---- linger expired ----+-------------------> waiting (back-off) --retry--+
 *
 * `offering` has three steps: the adapter builds the peer connection (`start`), reports the
 * offer ready (`offerReady`), and the machine sends it (`sendOffer`) only once the camera can
 * receive it: after its `hello`, or when the hello grace after it came online has passed
 * (docs/signaling.md §When the server offers). A `hello` while an offer is still being built
 * or held joins that offer instead of building another: however fast a camera says hello,
 * at most one peer connection is being set up for it.
 */
export class UpstreamSession {
  #phase: UpstreamPhase = 'idle';
  #session: string | undefined;
  #demand = false;
  #online = false;
  #trickle = false;
  #attempt = 0;
  #lingering = false;
  #offer: OfferStep = 'building';
  /** The device said hello since it came online: it is subscribed and can receive an offer. */
  #helloSeen = false;
  /** The hello grace since it came online has passed: offer even without a hello. */
  #graceOver = false;
  #graceTimer = false;

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

  /** Where the current offer is (meaningful while `phase` is `offering`). */
  get offerStep(): OfferStep {
    return this.#offer;
  }

  handle(input: UpstreamInput): UpstreamAction[] {
    const out: UpstreamAction[] = [];
    switch (input.kind) {
      case 'demand':
        this.#onDemand(input.wanted, out);
        break;
      case 'presence':
        this.#onPresence(input.online, input.graceMs, out);
        break;
      case 'offerReady':
        if (this.#phase === 'offering' && input.session === this.#session && this.#offer === 'building') {
          this.#offer = 'ready';
          this.#sendOfferIfAllowed(out);
        }
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
        this.#clearGrace(out);
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

  #onPresence(online: boolean, graceMs: number | undefined, out: UpstreamAction[]): void {
    const wasOnline = this.#online;
    this.#online = online;
    if (online) {
      // A hello may arrive before the presence (two topics, no order between them): keep it.
      if (!wasOnline && !this.#helloSeen) {
        const grace = graceMs ?? this.timings.helloGraceMs;
        if (grace <= 0) this.#graceOver = true;
        else {
          this.#graceTimer = true;
          out.push({ do: 'setTimer', name: 'hello', ms: grace });
        }
      }
      if (this.#phase === 'idle' && this.#demand) this.#start(out);
      return;
    }
    // The device is gone: its peer is gone too, and nobody is there to hear a bye.
    this.#end('other', false, out);
    this.#trickle = false;
    this.#attempt = 0;
    this.#helloSeen = false;
    this.#graceOver = false;
    this.#clearGrace(out);
    if (this.#phase === 'waiting') out.push({ do: 'clearTimer', name: 'retry' });
    this.#phase = 'idle';
  }

  #onHello(trickle: boolean, out: UpstreamAction[]): void {
    this.#trickle = trickle;
    this.#helloSeen = true;
    this.#clearGrace(out);
    if (this.#phase === 'offering' && this.#offer !== 'sent') {
      // The offer being built (or held for this hello) is news to the camera: it joins that one.
      this.#sendOfferIfAllowed(out);
      return;
    }
    // A hello means the device (re)started: whatever session it had is gone. The newest offer wins.
    if (this.#active) {
      this.#end('other', false, out);
      this.#phase = 'idle';
    }
    if (this.#phase === 'idle' && this.#wanted) this.#start(out);
  }

  #onDevice(message: DeviceMessage, out: UpstreamAction[]): void {
    if (message.type === 'hello') {
      this.#onHello(message.trickle, out);
      return;
    }
    const current = this.#session !== undefined && message.session === this.#session && this.#active;
    const offerSent = this.#phase !== 'offering' || this.#offer === 'sent';
    switch (message.type) {
      case 'answer':
        if (!current || this.#phase !== 'offering' || !offerSent) {
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
        // A session-less error answers the offer the camera has (it could not read its session).
        if (message.session === undefined ? this.#phase === 'offering' && offerSent : current)
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
    } else if (name === 'hello' && this.#graceTimer) {
      this.#graceTimer = false;
      this.#graceOver = true;
      this.#sendOfferIfAllowed(out);
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
    this.#offer = 'building';
    out.push({ do: 'start', session: this.#session });
    // Bounds building (gathering) and holding too; set again in full when the offer goes out.
    out.push({ do: 'setTimer', name: 'answer', ms: this.timings.answerTimeoutMs });
  }

  /** Sends the ready offer once the camera can receive it (hello seen, or the grace is over). */
  #sendOfferIfAllowed(out: UpstreamAction[]): void {
    if (this.#phase !== 'offering' || this.#offer !== 'ready' || this.#session === undefined) return;
    if (!this.#helloSeen && !this.#graceOver) return;
    this.#offer = 'sent';
    out.push(
      { do: 'sendOffer', session: this.#session, trickle: this.#trickle },
      { do: 'setTimer', name: 'answer', ms: this.timings.answerTimeoutMs },
    );
  }

  #clearGrace(out: UpstreamAction[]): void {
    if (!this.#graceTimer) return;
    this.#graceTimer = false;
    out.push({ do: 'clearTimer', name: 'hello' });
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
