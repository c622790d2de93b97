/**
 * Rebuilds a camera's H.264 keyframes (the access unit: SPS, PPS and the IDR slices) from its
 * RTP packets (RFC 6184: single NAL units, STAP-A, FU-A), as Annex B bytes a decoder reads
 * (`00 00 00 01` before each NAL unit). Used to turn the latest keyframe into a still picture.
 * Pure: fed packets in arrival order; cheap for frames that are not keyframes (their first
 * slice decides, one byte looked at per packet after that).
 */

/** The fields of an RTP packet this reads (werift's RtpPacket header and the tap's parse both fit). */
export interface H264Packet {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/** Bounds of what one camera's assembler holds. */
export interface H264KeyframeLimits {
  /** A keyframe bigger than this (its NAL units together) is dropped. */
  maxFrameBytes: number;
  /** An SPS or PPS bigger than this is ignored (real ones are tens of bytes). */
  maxParameterSetBytes: number;
}

export const H264_KEYFRAME_LIMITS: H264KeyframeLimits = {
  maxFrameBytes: 2 * 1024 * 1024,
  maxParameterSetBytes: 1024,
};

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const STAP_A = 24;
const FU_A = 28;
const START_CODE = Uint8Array.of(0, 0, 0, 1);

/** What is known of the frame being received (one RTP timestamp). */
interface Frame {
  timestamp: number;
  lastSequence: number;
  /** undefined until its first slice said; then whether it is kept. */
  keyframe: boolean | undefined;
  /** NAL units of the frame so far (while undecided, only non-slice ones such as SEI). */
  nals: Uint8Array[];
  bytes: number;
  /** An FU-A unit being put together, as parts. */
  fragment: { parts: Uint8Array[]; bytes: number } | undefined;
  broken: boolean;
}

/**
 * One camera's keyframe assembler. `push()` answers a whole keyframe (Annex B) when the packet
 * completed one: at its marker bit, or when a packet of a later frame arrived. A keyframe with
 * a lost packet is dropped, as is one for which no SPS and PPS were ever seen.
 */
export class H264KeyframeAssembler {
  #frame: Frame | undefined;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  constructor(private readonly limits: H264KeyframeLimits = H264_KEYFRAME_LIMITS) {}

  push(packet: H264Packet): Uint8Array | undefined {
    let done: Uint8Array | undefined;
    let frame = this.#frame;
    if (frame && frame.timestamp !== packet.timestamp) {
      done = this.#finish(frame);
      frame = undefined;
    }
    if (!frame) {
      frame = {
        timestamp: packet.timestamp,
        lastSequence: packet.sequenceNumber,
        keyframe: undefined,
        nals: [],
        bytes: 0,
        fragment: undefined,
        broken: false,
      };
      this.#frame = frame;
    } else {
      if (((frame.lastSequence + 1) & 0xffff) !== packet.sequenceNumber) frame.broken = true;
      frame.lastSequence = packet.sequenceNumber;
    }
    this.#read(frame, packet.payload);
    if (packet.marker) {
      this.#frame = undefined;
      return this.#finish(frame) ?? done;
    }
    return done;
  }

  /** Forgets the frame in progress and the parameter sets (a new session of the camera). */
  reset(): void {
    this.#frame = undefined;
    this.#sps = undefined;
    this.#pps = undefined;
  }

  #read(frame: Frame, payload: Uint8Array): void {
    if (payload.length < 1) return;
    const type = payload[0]! & 0x1f;
    if (type === STAP_A) {
      for (let offset = 1; offset + 2 <= payload.length; ) {
        const size = (payload[offset]! << 8) | payload[offset + 1]!;
        offset += 2;
        if (size === 0 || offset + size > payload.length) {
          frame.broken = true;
          return;
        }
        this.#nal(frame, payload.subarray(offset, offset + size));
        offset += size;
      }
      return;
    }
    if (type === FU_A) {
      if (payload.length < 3) return;
      const header = payload[1]!;
      const start = (header & 0x80) !== 0;
      const end = (header & 0x40) !== 0;
      if (start) {
        const nalHeader = Uint8Array.of((payload[0]! & 0xe0) | (header & 0x1f));
        frame.fragment = { parts: [nalHeader], bytes: 1 };
        // A slice's type is known from its first fragment: decide the frame without copying more.
        this.#decide(frame, header & 0x1f);
      }
      const fragment = frame.fragment;
      if (!fragment) return; // its start was lost (the frame is broken by the sequence gap)
      if (frame.keyframe === false && (header & 0x1f) !== NAL_SPS && (header & 0x1f) !== NAL_PPS) {
        frame.fragment = undefined;
        return;
      }
      fragment.parts.push(payload.subarray(2));
      fragment.bytes += payload.length - 2;
      if (fragment.bytes > this.limits.maxFrameBytes) {
        frame.broken = true;
        frame.fragment = undefined;
        return;
      }
      if (end) {
        frame.fragment = undefined;
        this.#nal(frame, concat(fragment.parts, fragment.bytes));
      }
      return;
    }
    if (type >= 1 && type <= 23) this.#nal(frame, payload);
  }

  /** The frame's first slice (types 1-5) says whether it is a keyframe. */
  #decide(frame: Frame, type: number): void {
    if (frame.keyframe !== undefined || type < 1 || type > 5) return;
    frame.keyframe = type === NAL_IDR;
    if (!frame.keyframe) {
      frame.nals = [];
      frame.bytes = 0;
    }
  }

  #nal(frame: Frame, nal: Uint8Array): void {
    const type = nal[0]! & 0x1f;
    if ((type === NAL_SPS || type === NAL_PPS) && nal.length <= this.limits.maxParameterSetBytes) {
      const copy = Uint8Array.from(nal);
      if (type === NAL_SPS) this.#sps = copy;
      else this.#pps = copy;
    }
    this.#decide(frame, type);
    if (frame.keyframe === false) return;
    frame.bytes += nal.length + START_CODE.length;
    if (frame.bytes > this.limits.maxFrameBytes) {
      frame.broken = true;
      frame.nals = [];
      return;
    }
    frame.nals.push(Uint8Array.from(nal));
  }

  #finish(frame: Frame): Uint8Array | undefined {
    if (frame.broken || frame.keyframe !== true || frame.fragment) return undefined;
    const types = new Set(frame.nals.map((n) => n[0]! & 0x1f));
    const prefix: Uint8Array[] = [];
    // Parameter sets sent out of band of this frame (earlier, or once per session): put them first.
    if (!types.has(NAL_SPS)) {
      if (!this.#sps) return undefined;
      prefix.push(this.#sps);
    }
    if (!types.has(NAL_PPS)) {
      if (!this.#pps) return undefined;
      prefix.push(this.#pps);
    }
    const nals = [...prefix, ...frame.nals];
    const parts: Uint8Array[] = [];
    for (const nal of nals) parts.push(START_CODE, nal);
    return concat(
      parts,
      parts.reduce((n, p) => n + p.length, 0),
    );
  }
}

function concat(parts: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
