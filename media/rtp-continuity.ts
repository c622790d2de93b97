/**
 * Keeps one viewer's outgoing RTP stream continuous while the camera's stream underneath
 * changes: a camera that reconnects starts a new SSRC with random sequence numbers and
 * timestamps, but the viewer's decoder must see one stream whose sequence numbers advance
 * by one and whose timestamps advance with wall-clock time. Pure; the clock is injected.
 */

export interface RtpHeaderFields {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
}

export class RtpContinuity {
  #sourceSsrc: number | undefined;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq: number | undefined;
  #lastTs = 0;
  #lastAt = 0;

  constructor(
    /** Ticks per second; used to carry wall-clock time across a source change. Settable: a codec switch may change it. */
    public clockRate: number,
    private readonly now: () => number = () => performance.now(),
    initialSeq = Math.floor(Math.random() * 0x10000),
    initialTs = Math.floor(Math.random() * 0x100000000),
  ) {
    this.#lastSeq = undefined;
    this.#seqOffset = initialSeq;
    this.#tsOffset = initialTs;
  }

  /** Rewritten sequence number and timestamp for a packet of the current (or a new) source. */
  map(packet: RtpHeaderFields): { sequenceNumber: number; timestamp: number } {
    const at = this.now();
    if (packet.ssrc !== this.#sourceSsrc) {
      if (this.#lastSeq !== undefined) {
        // New source: continue one past the last sequence number, and the time that passed since.
        const elapsedTicks = Math.round(((at - this.#lastAt) / 1000) * this.clockRate);
        this.#seqOffset = (this.#lastSeq + 1 - packet.sequenceNumber) & 0xffff;
        this.#tsOffset = (this.#lastTs + Math.max(1, elapsedTicks) - packet.timestamp) >>> 0;
      } else {
        this.#seqOffset = (this.#seqOffset - packet.sequenceNumber) & 0xffff;
        this.#tsOffset = (this.#tsOffset - packet.timestamp) >>> 0;
      }
      this.#sourceSsrc = packet.ssrc;
    }
    const sequenceNumber = (packet.sequenceNumber + this.#seqOffset) & 0xffff;
    const timestamp = (packet.timestamp + this.#tsOffset) >>> 0;
    // Track the newest packet only (reordered older ones must not move the baseline back).
    if (this.#lastSeq === undefined || ((sequenceNumber - this.#lastSeq) & 0xffff) < 0x8000) {
      this.#lastSeq = sequenceNumber;
      this.#lastTs = timestamp;
      this.#lastAt = at;
    }
    return { sequenceNumber, timestamp };
  }
}
