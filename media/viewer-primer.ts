import type { RtpPacket } from 'werift';
import { BURST_PACING, type BurstPacing, type PlannedPacket, planBurst } from './burst-plan.js';
import { clockRateOf } from './codecs.js';
import { cachedBytes, type KeyframeBurst } from './keyframe-cache.js';
import type { MediaKind } from './upstream-peer.js';

/** What the primer sends through: Viewer.forward. */
export interface PrimedViewer {
  forward(kind: MediaKind, mimeType: string, packet: RtpPacket, timestampShift?: number): void;
}

/** Live video packets held while a burst is sent, at most; a camera sending more ends the burst. */
const MAX_HELD_PACKETS = 4096;

export interface PrimerTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: PrimerTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Starts one new viewer from a camera's keyframe cache: sends the cached burst paced and with
 * its timestamps drawn together (burst-plan.ts), holds the live video that arrives meanwhile
 * and sends it right after, so the viewer's sequence numbers run on without a gap or a
 * duplicate. Audio passes through at once. While it runs, the Stream feeds it instead of the
 * viewer; `done` says when the viewer can be fed directly again ('overflow': the camera sent
 * more than MAX_HELD_PACKETS meanwhile, the held video was dropped and the viewer must wait for
 * a keyframe instead).
 */
export class ViewerPrimer {
  readonly #plan: PlannedPacket[];
  readonly #held: Array<{ mimeType: string; packet: RtpPacket }> = [];
  #next = 0;
  #startedAt = 0;
  #timer: unknown;
  #finished = false;

  constructor(
    private readonly viewer: PrimedViewer,
    private readonly burst: KeyframeBurst,
    private readonly done: (outcome: 'sent' | 'overflow') => void,
    pacing: BurstPacing = BURST_PACING,
    private readonly timers: PrimerTimers = realTimers,
  ) {
    this.#plan = planBurst(
      burst.packets.map((p) => ({ timestamp: p.header.timestamp, bytes: cachedBytes(p) })),
      clockRateOf(burst.mimeType),
      pacing,
    );
  }

  start(): void {
    this.#startedAt = this.timers.now();
    this.#pump();
  }

  /** A live packet from the camera while the burst is being sent. */
  forward(kind: MediaKind, mimeType: string, packet: RtpPacket): void {
    if (this.#finished || kind === 'audio') this.viewer.forward(kind, mimeType, packet);
    else if (this.#held.length >= MAX_HELD_PACKETS) this.#finish('overflow');
    else this.#held.push({ mimeType, packet });
  }

  /** Stops sending (the viewer left or the camera's session ended); `done` is not called. */
  cancel(): void {
    this.#finished = true;
    this.timers.clearTimeout(this.#timer);
    this.#held.length = 0;
  }

  #pump(): void {
    this.#timer = undefined;
    if (this.#finished) return;
    const elapsed = this.timers.now() - this.#startedAt;
    const { packets, mimeType } = this.burst;
    while (this.#next < packets.length && this.#plan[this.#next]!.atMs <= elapsed) {
      const i = this.#next++;
      this.viewer.forward('video', mimeType, packets[i]!, this.#plan[i]!.timestampShift);
    }
    if (this.#next < packets.length) {
      this.#timer = this.timers.setTimeout(
        () => this.#pump(),
        Math.max(1, this.#plan[this.#next]!.atMs - elapsed),
      );
      return;
    }
    // The burst is out: the live video held meanwhile follows it at once, unchanged.
    for (const { mimeType: held, packet } of this.#held) this.viewer.forward('video', held, packet);
    this.#finish('sent');
  }

  #finish(outcome: 'sent' | 'overflow'): void {
    if (this.#finished) return;
    this.#finished = true;
    this.timers.clearTimeout(this.#timer);
    this.#held.length = 0;
    this.done(outcome);
  }
}
