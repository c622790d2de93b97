/**
 * A camera's SRTP packets held undecrypted while nothing needs its media (D41). A camera that
 * nobody watches or records keeps streaming for the linger time (`media.lingerMs`), so that a
 * viewer who comes back starts at once from the keyframe cache. Decrypting every packet of it
 * only to keep that cache warm was most of what such a camera cost; held, a packet costs a
 * place in this buffer, and the packets are decrypted in one go when a viewer, a tap or a still
 * needs them (then the keyframe cache fills from them as if they had just arrived).
 *
 * The buffer keeps the packets of the last `windowMs` (enough to hold the latest keyframe: the
 * Stream passes twice the camera's keyframe interval), at most `maxBytes`. The keyframe itself
 * cannot be found without decrypting, so the window, not the keyframe, bounds what is kept.
 * Pure: fed in arrival order, clock passed in.
 */

/** One held datagram and what decrypting it later needs. */
export interface HeldSrtpPacket {
  data: Buffer;
  /** SRTP rollover counter of its sequence number when it arrived (RFC 3711 §3.3.1). */
  rolloverCounter: number;
  /** Arrival time (the buffer's clock). */
  at: number;
}

export interface SrtpHoldLimits {
  /** Bytes held at most (the keyframe cache's bound: a window beyond it could not be cached anyway). */
  maxBytes: number;
  /** Age kept at most, whatever the window asked for. */
  maxWindowMs: number;
}

export const SRTP_HOLD_LIMITS: SrtpHoldLimits = { maxBytes: 4 * 1024 * 1024, maxWindowMs: 20_000 };

/** Bytes the ring starts with; it doubles as needed (a power of two, at most three times `maxBytes`). */
const INITIAL_RING_BYTES = 256 * 1024;
const INITIAL_ENTRIES = 256;

/**
 * The held datagrams are copied into one ring of bytes with their metadata in typed arrays, so
 * holding retains no object per packet: a Buffer per datagram kept for seconds would be promoted
 * out of the young generation and make the garbage collector the camera's largest cost.
 */
export class SrtpHoldBuffer {
  #ring: Buffer | undefined;
  /** Where the next datagram is written in the ring (bytes before the oldest entry are free). */
  #write = 0;
  #starts = new Int32Array(INITIAL_ENTRIES);
  #lengths = new Int32Array(INITIAL_ENTRIES);
  #rocs = new Uint32Array(INITIAL_ENTRIES);
  #ats = new Float64Array(INITIAL_ENTRIES);
  /** The entries are a circular list: index of the oldest, and how many. */
  #first = 0;
  #count = 0;
  #bytes = 0;
  /** Packets dropped for age or size since the buffer was created (for tests and metrics). */
  dropped = 0;

  constructor(
    private readonly limits: SrtpHoldLimits = SRTP_HOLD_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Holds (a copy of) one datagram; older ones leave once outside `windowMs` or over the byte bound. */
  push(data: Buffer, rolloverCounter: number, windowMs: number): void {
    const at = this.now();
    const oldest = at - Math.min(windowMs, this.limits.maxWindowMs);
    while (this.#count > 0 && this.#ats[this.#first]! < oldest) this.#dropOldest();
    while (this.#count > 0 && this.#bytes + data.length > this.limits.maxBytes) this.#dropOldest();
    const start = this.#place(data.length);
    data.copy(this.#ring!, start);
    if (this.#count === this.#starts.length) this.#growEntries();
    const i = (this.#first + this.#count) % this.#starts.length;
    this.#starts[i] = start;
    this.#lengths[i] = data.length;
    this.#rocs[i] = rolloverCounter;
    this.#ats[i] = at;
    this.#count++;
    this.#bytes += data.length;
    this.#write = start + data.length;
  }

  /** Every packet held, oldest first (views of the buffer's memory, which it lets go); empty afterwards. */
  take(): HeldSrtpPacket[] {
    const ring = this.#ring;
    const taken: HeldSrtpPacket[] = [];
    for (let k = 0; k < this.#count; k++) {
      const i = (this.#first + k) % this.#starts.length;
      const start = this.#starts[i]!;
      taken.push({
        data: ring!.subarray(start, start + this.#lengths[i]!),
        rolloverCounter: this.#rocs[i]!,
        at: this.#ats[i]!,
      });
    }
    this.clear();
    return taken;
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes of memory the buffer holds on to (its ring), for tests. */
  get capacity(): number {
    return this.#ring?.length ?? 0;
  }

  clear(): void {
    this.#ring = undefined;
    this.#write = 0;
    this.#first = 0;
    this.#count = 0;
    this.#bytes = 0;
  }

  #dropOldest(): void {
    this.#bytes -= this.#lengths[this.#first]!;
    this.#first = (this.#first + 1) % this.#starts.length;
    this.#count--;
    this.dropped++;
    if (this.#count === 0) this.#write = 0;
  }

  /**
   * Where a datagram of `length` bytes goes: after the newest; when the ring's end is reached,
   * the live bytes move to its front (compaction), or to a ring twice the size when they would
   * fill more than three quarters of it.
   */
  #place(length: number): number {
    let ring = this.#ring;
    if (ring && this.#write + length <= ring.length) return this.#write;
    const live = this.#bytes;
    let size = ring?.length ?? INITIAL_RING_BYTES;
    while (live + length > size * 0.75) size *= 2;
    const from = this.#count > 0 ? this.#starts[this.#first]! : 0;
    if (!ring || size !== ring.length) {
      const bigger = Buffer.allocUnsafe(size);
      ring?.copy(bigger, 0, from, this.#write);
      ring = bigger;
      this.#ring = bigger;
    } else ring.copyWithin(0, from, this.#write);
    for (let k = 0; k < this.#count; k++) {
      const i = (this.#first + k) % this.#starts.length;
      this.#starts[i] = this.#starts[i]! - from;
    }
    this.#write = this.#count > 0 ? this.#write - from : 0;
    return this.#write;
  }

  #growEntries(): void {
    const n = this.#starts.length;
    const grow = <T extends Int32Array | Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const bigger = make(n * 2);
      for (let k = 0; k < this.#count; k++) bigger[k] = old[(this.#first + k) % n]!;
      return bigger;
    };
    this.#starts = grow(this.#starts, (m) => new Int32Array(m));
    this.#lengths = grow(this.#lengths, (m) => new Int32Array(m));
    this.#rocs = grow(this.#rocs, (m) => new Uint32Array(m));
    this.#ats = grow(this.#ats, (m) => new Float64Array(m));
    this.#first = 0;
  }
}

/** How many keyframe intervals the hold window is judged on (the longest of them counts). */
const INTERVALS_KEPT = 4;
/** Video RTP clock (H.264, VP8). */
const VIDEO_CLOCK_HZ = 90_000;

/**
 * The camera's keyframe interval as seen in its video's RTP timestamps, and the hold window it
 * implies: twice the longest of the last few intervals plus a second, so the window holds a
 * whole GOP, its keyframe included, even when the latest keyframe came early (a PLI). Until two
 * keyframes were seen, the longest window allowed. Pure.
 */
export class KeyframeInterval {
  #lastTimestamp: number | undefined;
  readonly #intervalsMs: number[] = [];
  /** The window, worked out when an interval is seen (it is read for every held packet). */
  #windowMs: number;

  constructor(private readonly limits: SrtpHoldLimits = SRTP_HOLD_LIMITS) {
    this.#windowMs = limits.maxWindowMs;
  }

  /** A keyframe started at this RTP timestamp (90 kHz). */
  keyframe(rtpTimestamp: number): void {
    const last = this.#lastTimestamp;
    this.#lastTimestamp = rtpTimestamp;
    if (last === undefined) return;
    const ms = (((rtpTimestamp - last) >>> 0) * 1000) / VIDEO_CLOCK_HZ;
    if (ms <= 0 || ms > this.limits.maxWindowMs) return; // a wrap, a new encoder: not an interval
    this.#intervalsMs.push(ms);
    if (this.#intervalsMs.length > INTERVALS_KEPT) this.#intervalsMs.shift();
    this.#windowMs = Math.min(this.limits.maxWindowMs, 2 * Math.max(...this.#intervalsMs) + 1000);
  }

  /** The camera's session ended: its next timestamps start afresh (intervals seen stay). */
  sessionEnded(): void {
    this.#lastTimestamp = undefined;
  }

  holdWindowMs(): number {
    return this.#windowMs;
  }
}
