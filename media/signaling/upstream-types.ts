import type { ByeReason, DeviceMessage, IceCandidateInit, SignalErrorCode } from './messages.js';

/** The vocabulary of UpstreamSession (inputs, actions, timings), apart from its logic. */

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
  /** After a camera comes online, how long to wait for its `hello` before offering anyway. */
  helloGraceMs: number;
}

export const DEFAULT_TIMINGS: UpstreamTimings = {
  answerTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
  lingerMs: 30_000,
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
  helloGraceMs: 2000,
};

export type TimerName = 'answer' | 'connect' | 'linger' | 'retry' | 'hello';

export type UpstreamInput =
  | { kind: 'demand'; wanted: boolean }
  /** `graceMs`: what is left of the hello grace (the device may have come online earlier); default the full grace. */
  | { kind: 'presence'; online: boolean; graceMs?: number }
  | { kind: 'device'; message: DeviceMessage }
  | { kind: 'invalid'; code: SignalErrorCode; reason: string; session?: string }
  | { kind: 'timer'; name: TimerName }
  | { kind: 'peer'; session: string; state: 'connected' | 'failed' }
  /** The adapter's peer connection for `session` has its (complete) offer. */
  | { kind: 'offerReady'; session: string }
  | { kind: 'shutdown' };

export type UpstreamAction =
  /** Build the peer connection for `session` and create its offer; report `offerReady`. */
  | { do: 'start'; session: string }
  /** Publish the offer of `session` (built earlier) with this `trickle` flag. */
  | { do: 'sendOffer'; session: string; trickle: boolean }
  | { do: 'applyAnswer'; session: string; sdp: string }
  | { do: 'addCandidate'; session: string; candidate: IceCandidateInit | null }
  | { do: 'stop'; session: string; bye?: ByeReason }
  | { do: 'sendError'; session?: string; code: SignalErrorCode; message: string }
  | { do: 'setTimer'; name: TimerName; ms: number }
  | { do: 'clearTimer'; name: TimerName }
  | { do: 'notify'; event: 'live' | 'ended'; session: string; reason?: ByeReason };

export type UpstreamPhase = 'idle' | 'offering' | 'connecting' | 'live' | 'waiting';

/** Where an offer is while the phase is `offering`. */
export type OfferStep = 'building' | 'ready' | 'sent';
