/**
 * When a Stream asks its camera for a keyframe (PLI). A request is outstanding until a keyframe
 * arrives: viewers' requests meanwhile (a browser asks every few hundred milliseconds until it can
 * decode) are absorbed instead of sent, and a request no keyframe answered is sent again after
 * `timeoutMs`. A camera session that starts is like a request sent: an encoder starts with a
 * keyframe. Besides, two requests are at least `minIntervalMs` apart. Pure; the clock is passed in.
 *
 * Why (D26): each request makes some encoders work (the reference agent restarts ffmpeg, which
 * takes 0.3-1 s and more under load); requests every 500 ms while the answer was on its way
 * restarted the encoder before it had sent its first keyframe, again and again, and a new viewer
 * waited seconds.
 */
export class KeyframeRequests {
  #lastSentAt = Number.NEGATIVE_INFINITY;
  /** Since when a keyframe is expected (a request sent, a session started); undefined when none is. */
  #awaitedSince: number | undefined;
  #wanted = false;
  /**
   * The session's first video frame: 'waiting' for it, its timestamp while it may still show a
   * keyframe, 'settled' once a keyframe came or that frame ended without one.
   */
  #firstFrame: 'waiting' | number | 'settled' = 'settled';

  constructor(
    private readonly minIntervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Someone needs a keyframe. `send`: ask the camera now. `retryInMs`: call again then (if still
   * `wanted`) to send the request held back now.
   */
  request(now: number): { send: boolean; retryInMs?: number } {
    this.#wanted = true;
    if (this.#awaitedSince !== undefined && now - this.#awaitedSince < this.timeoutMs) {
      return { send: false, retryInMs: this.#awaitedSince + this.timeoutMs - now };
    }
    const wait = this.#lastSentAt + this.minIntervalMs - now;
    if (wait > 0) return { send: false, retryInMs: wait };
    this.#lastSentAt = now;
    this.#awaitedSince = now;
    return { send: true, retryInMs: this.timeoutMs };
  }

  /**
   * A video packet from the camera (`keyframe`: it starts one). True when a held-back request
   * should be sent now: the session's first frame ended without a keyframe (it was lost on the
   * way), so waiting for it is pointless.
   */
  video(timestamp: number, keyframe: boolean): boolean {
    if (keyframe) {
      this.#wanted = false;
      this.#awaitedSince = undefined;
      this.#firstFrame = 'settled';
      return false;
    }
    if (this.#firstFrame === 'settled') return false;
    if (this.#firstFrame === 'waiting') {
      this.#firstFrame = timestamp;
      return false;
    }
    if (timestamp === this.#firstFrame) return false;
    this.#firstFrame = 'settled';
    this.#awaitedSince = undefined;
    return this.#wanted;
  }

  /** The camera's session is up: its first frame will be a keyframe. */
  sessionStarted(now: number): void {
    this.#awaitedSince = now;
    this.#firstFrame = 'waiting';
  }

  /** The camera's session ended: nothing is awaited from it any more. */
  reset(): void {
    this.#wanted = false;
    this.#awaitedSince = undefined;
    this.#firstFrame = 'settled';
  }

  /** A request is held back and not yet answered by a keyframe. */
  get wanted(): boolean {
    return this.#wanted;
  }
}
