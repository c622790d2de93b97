import type { RtpPacket } from 'werift';
import { isKeyframeStart } from './keyframe.js';

/**
 * Bounds of a camera's keyframe cache (D26). Constants rather than configuration: the cache
 * only shortens the wait for a first frame, and a camera outside them falls back to a keyframe
 * request, as before the cache.
 */
export interface KeyframeCacheLimits {
  /** The packets (payload and header) kept at most; a GOP bigger than this is not kept. */
  maxBytes: number;
  /** A keyframe older than this is not served: a burst of more video would only delay the picture. */
  maxAgeMs: number;
}

export const KEYFRAME_CACHE_LIMITS: KeyframeCacheLimits = { maxBytes: 4 * 1024 * 1024, maxAgeMs: 20_000 };

/** What a new viewer is sent first: one codec, one SSRC, starting with a keyframe's first packet. */
export interface KeyframeBurst {
  mimeType: string;
  packets: readonly RtpPacket[];
  /** Their size, as counted against maxBytes. */
  bytes: number;
}

/** A packet's size as the cache counts it: payload and the 12-byte fixed RTP header. */
export function cachedBytes(packet: RtpPacket): number {
  return 12 + packet.payload.length;
}

/**
 * The video packets of one camera from its latest keyframe on, so a viewer that joins is sent
 * a decodable picture at once instead of waiting for the camera's next keyframe (or asking for
 * one). Video only: audio packets (Opus, G.711) each decode on their own, so a viewer needs
 * no audio history, and a burst of it would sit in the browser's audio jitter buffer as delay.
 * Pure: fed packets in arrival order, clock injected.
 */
export class KeyframeCache {
  #packets: RtpPacket[] = [];
  #bytes = 0;
  #mimeType = '';
  /** The keyframe the packets start at; undefined while none is usable. */
  #keyframe: { ssrc: number; timestamp: number; sequenceNumber: number; at: number } | undefined;

  constructor(
    private readonly limits: KeyframeCacheLimits = KEYFRAME_CACHE_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One video packet from the camera, in arrival order. True when it starts a new keyframe. */
  push(mimeType: string, packet: RtpPacket): boolean {
    const { ssrc, timestamp, sequenceNumber } = packet.header;
    const keyframe = this.#keyframe;
    if (isKeyframeStart(mimeType, packet.payload)) {
      // An H.264 keyframe is often several packets that each look like its start (SPS, PPS and
      // IDR slices as single NAL units): they share its RTP timestamp and belong to it.
      const sameFrame =
        keyframe !== undefined &&
        keyframe.ssrc === ssrc &&
        keyframe.timestamp === timestamp &&
        this.#mimeType === mimeType;
      if (sameFrame) return this.#keep(packet);
      this.clear();
      this.#keyframe = { ssrc, timestamp, sequenceNumber, at: this.now() };
      this.#mimeType = mimeType;
      this.#keep(packet);
      return true;
    }
    if (keyframe === undefined) return false;
    if (keyframe.ssrc !== ssrc || this.#mimeType !== mimeType) {
      // A new source or codec without its keyframe yet: what is kept no longer leads to live.
      this.clear();
      return false;
    }
    // Reordered from before the keyframe: no use to a decoder starting at the keyframe.
    if (((sequenceNumber - keyframe.sequenceNumber) & 0xffff) >= 0x8000) return false;
    return this.#keep(packet);
  }

  #keep(packet: RtpPacket): false {
    const bytes = cachedBytes(packet);
    if (this.#bytes + bytes > this.limits.maxBytes) {
      // Without its start a GOP is useless: keep nothing until the next keyframe.
      this.clear();
      return false;
    }
    this.#packets.push(packet);
    this.#bytes += bytes;
    return false;
  }

  /** The packets from the latest keyframe on, or undefined when there is no usable keyframe. */
  burst(): KeyframeBurst | undefined {
    if (this.#keyframe === undefined) return undefined;
    if (this.now() - this.#keyframe.at > this.limits.maxAgeMs) {
      this.clear();
      return undefined;
    }
    return { mimeType: this.#mimeType, packets: [...this.#packets], bytes: this.#bytes };
  }

  /** Bytes held now (for tests and metrics). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Forgets everything (the camera's session ended). */
  clear(): void {
    this.#packets = [];
    this.#bytes = 0;
    this.#keyframe = undefined;
  }
}
