import { MediaStreamTrack, type RTCPeerConnection, type RTCRtpTransceiver, type RtpPacket } from 'werift';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { clockRateOf, rtxFor } from './codecs.js';
import { isKeyframeStart } from './keyframe.js';
import { loadNativeSrtp } from './native-srtp.js';
import { createPeerConnection, type PeerOptions } from './peer-options.js';
import { RtpContinuity } from './rtp-continuity.js';
import { MAX_CANDIDATES_PER_SESSION } from './trickle-fragment.js';
import type { MediaKind } from './upstream-peer.js';
import { ViewerRtpSender } from './viewer-rtp-sender.js';

export interface ViewerHandlers {
  /** The viewer asked for a keyframe (PLI/FIR from its decoder). */
  keyframeRequest(): void;
  state(state: 'connected' | 'failed' | 'closed'): void;
  /** The start of the first video keyframe was sent (once per viewer). */
  firstFrame(): void;
  /** Bytes written to the viewer's socket (SRTP packets). */
  written(bytes: number): void;
}

type Codec = RTCRtpTransceiver['codecs'][number];

interface Outlet {
  track: MediaStreamTrack;
  sender: { codec?: unknown; rtxPayloadType?: number | undefined };
  /** Writes the viewer's RTP (header, SRTP, socket) in place of werift's sender path. */
  writer: ViewerRtpSender;
  /** RTX codecs negotiated with the viewer (RFC 4588), matched to a media codec by apt. */
  rtx: Codec[];
  continuity: RtpContinuity | undefined;
  /** Codecs negotiated with the viewer that packets can be forwarded in, best first. */
  codecs: Codec[];
  /** The codec being sent now. */
  current: Codec | undefined;
  /** The camera's codec name `current` was last checked against (skips two toLowerCase per packet). */
  checkedMime: string | undefined;
}

/**
 * One WHEP viewer: a send-only peer connection answering the viewer's offer. Packets from
 * the camera are forwarded without their header extensions, made continuous across camera
 * restarts, and held back until the first keyframe. Every viewer shares the camera's packet:
 * only a new 12-byte header is written per viewer (ViewerRtpSender), the payload is never
 * copied or modified.
 */
export class Viewer {
  readonly #pc: RTCPeerConnection;
  readonly #log: Logger;
  readonly #outlets: Record<MediaKind, Outlet>;
  #waitingForKeyframe = true;
  #firstFrameSent = false;
  readonly #handlers: ViewerHandlers;
  #connected = false;
  #closed = false;
  /** Remote candidates taken by trickle so far (bounded by MAX_CANDIDATES_PER_SESSION). */
  #remoteCandidates = 0;
  /** When the viewer last showed it is alive (RTCP from its browser), performance.now() ms. */
  #lastHeardAt = performance.now();

  constructor(
    readonly id: string,
    /** Who opened the session (the API token's id): only it may change or end the session. */
    readonly owner: string,
    options: PeerOptions,
    handlers: ViewerHandlers,
    log: Logger,
  ) {
    this.#log = log;
    this.#handlers = handlers;
    this.#pc = createPeerConnection(options);
    const native = options.nativeSrtp ? loadNativeSrtp().addon : undefined;
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    // Added before the remote offer, werift pairs these with the viewer's m-lines by kind.
    const videoTx = this.#pc.addTransceiver(video, { direction: 'sendonly' });
    const audioTx = this.#pc.addTransceiver(audio, { direction: 'sendonly' });
    this.#outlets = {
      video: {
        track: video,
        sender: videoTx.sender as unknown as Outlet['sender'],
        writer: new ViewerRtpSender(videoTx.sender, handlers.written, native),
        continuity: undefined,
        codecs: [],
        rtx: [],
        current: undefined,
        checkedMime: undefined,
      },
      audio: {
        track: audio,
        sender: audioTx.sender as unknown as Outlet['sender'],
        writer: new ViewerRtpSender(audioTx.sender, handlers.written, native),
        continuity: undefined,
        codecs: [],
        rtx: [],
        current: undefined,
        checkedMime: undefined,
      },
    };
    videoTx.sender.onPictureLossIndication.subscribe(() => handlers.keyframeRequest());
    for (const tx of [videoTx, audioTx]) {
      tx.sender.onRtcp.subscribe(() => {
        this.#lastHeardAt = performance.now();
      });
    }
    this.#pc.connectionStateChange.subscribe((state) => {
      if (this.#closed) return;
      if (state === 'connected') {
        // werift drops what is written before DTLS is up, so keyframe gating starts only now.
        this.#connected = true;
        this.#waitingForKeyframe = true;
      }
      if (state === 'connected' || state === 'failed' || state === 'closed') handlers.state(state);
    });
  }

  /**
   * Applies the viewer's offer and returns the complete answer (all candidates included).
   * The answer keeps only codecs packets can be forwarded in (no transcoding), the camera's
   * current one (`prefer`) first. werift picks its sending codec while applying the offer, in
   * the viewer's order (Chromium: VP8 first), so the sending codec is chosen here instead, and
   * switched in forward() if the camera changes codec. `known`: the camera has streamed, so its
   * video codec is a requirement rather than a guess.
   */
  async answer(offerSdp: string, prefer: Record<MediaKind, string>, known: boolean): Promise<string> {
    await this.#pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const transceiver of this.#pc.getTransceivers()) {
      const kind = transceiver.kind as MediaKind;
      const outlet = this.#outlets[kind];
      if (!outlet) continue;
      const usable = forwardableCodecs(transceiver.codecs, kind, prefer[kind]);
      if (
        kind === 'video' &&
        (usable.length === 0 || (known && usable[0]!.mimeType.toLowerCase() !== prefer.video.toLowerCase()))
      ) {
        const need = known ? prefer.video : 'H.264 (packetization-mode 1) or VP8';
        throw new LookoutError(
          'NO_COMMON_CODEC',
          `the viewer does not accept ${need}, which the camera sends`,
        );
      }
      if (usable.length === 0) continue;
      const retransmission = usable.flatMap((codec) => rtxFor(transceiver.codecs, codec) ?? []);
      transceiver.codecs = [...usable, ...retransmission];
      outlet.codecs = usable;
      outlet.rtx = retransmission;
      this.#select(outlet, usable[0]!);
    }
    await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    return this.#pc.localDescription!.sdp;
  }

  #select(outlet: Outlet, codec: Codec): void {
    outlet.current = codec;
    outlet.checkedMime = undefined;
    outlet.sender.codec = codec;
    // werift chose the RTX payload type for its own first pick too: follow the codec actually sent.
    outlet.sender.rtxPayloadType = rtxFor(outlet.rtx, codec)?.payloadType;
    outlet.track.codec = codec;
    if (outlet.continuity) outlet.continuity.clockRate = codec.clockRate;
  }

  /** Trickle ICE from the viewer (candidates of an `application/trickle-ice-sdpfrag`). */
  async addCandidates(candidates: string[]): Promise<void> {
    if (this.#remoteCandidates + candidates.length > MAX_CANDIDATES_PER_SESSION) {
      throw new LookoutError(
        'CANDIDATE_LIMIT',
        `a session takes at most ${MAX_CANDIDATES_PER_SESSION} trickled candidates (${this.#remoteCandidates} so far)`,
      );
    }
    this.#remoteCandidates += candidates.length;
    for (const candidate of candidates) {
      if (this.#closed) throw new LookoutError('WHEP_SESSION_NOT_FOUND', 'the WHEP session has ended');
      try {
        await this.#pc.addIceCandidate({ candidate, sdpMLineIndex: 0 });
      } catch (err) {
        // The grammar was checked before (trickle-fragment.ts); whatever werift still refuses is
        // the viewer's input too, never a server error.
        throw new LookoutError('CANDIDATE_INVALID', `candidate refused: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Forwards one camera packet. `mimeType` is the camera's codec for this kind. `timestampShift`:
   * ticks added to its timestamp (a keyframe-cache burst, viewer-primer.ts).
   */
  forward(kind: MediaKind, mimeType: string, packet: RtpPacket, timestampShift = 0): void {
    if (this.#closed || !this.#connected) return;
    const outlet = this.#outlets[kind];
    if (outlet.checkedMime !== mimeType) {
      if (outlet.current?.mimeType.toLowerCase() !== mimeType.toLowerCase()) {
        const codec = outlet.codecs.find((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
        if (!codec) return; // the camera's codec was not negotiated with this viewer
        this.#select(outlet, codec);
        if (kind === 'video') this.#waitingForKeyframe = true; // a new codec starts on its keyframe
      }
      outlet.checkedMime = mimeType;
    }
    let firstFrame = false;
    if (kind === 'video' && this.#waitingForKeyframe) {
      if (!isKeyframeStart(mimeType, packet.payload)) return;
      this.#waitingForKeyframe = false;
      firstFrame = !this.#firstFrameSent;
      this.#firstFrameSent = true;
    }
    outlet.continuity ??= new RtpContinuity(clockRateOf(mimeType));
    const mapped = outlet.continuity.map(packet.header);
    outlet.writer.send(
      outlet.current!.payloadType,
      packet.header.marker,
      mapped.sequenceNumber,
      (mapped.timestamp + timestampShift) >>> 0,
      packet.payload,
    );
    // After the send: the keyframe's first packet is on the wire when this is reported.
    if (firstFrame) this.#handlers.firstFrame();
  }

  /** The camera's stream restarted: wait for its next keyframe before sending video again. */
  resync(): void {
    this.#waitingForKeyframe = true;
  }

  /** Milliseconds since the viewer's browser last sent RTCP (receiver reports arrive about every second). */
  get silentForMs(): number {
    return performance.now() - this.#lastHeardAt;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#outlets.video.writer.close();
    this.#outlets.audio.writer.close();
    await this.#pc
      .close()
      .catch((err) => this.#log.debug({ err: (err as Error).message }, 'viewer close failed'));
  }
}

const FORWARDABLE: Record<MediaKind, string[]> = {
  video: ['video/h264', 'video/vp8'],
  audio: ['audio/opus', 'audio/pcmu', 'audio/pcma'],
};

/**
 * The codecs a viewer offered that camera packets can be forwarded in, best first: the
 * camera's current codec (`prefer`), then the rest; for H.264 only packetization-mode 1,
 * constrained baseline first, and one entry per codec name.
 */
export function forwardableCodecs<C extends { mimeType: string; parameters?: string | undefined }>(
  codecs: C[],
  kind: MediaKind,
  prefer: string | undefined,
): C[] {
  const preferred = prefer?.toLowerCase();
  const names = [...FORWARDABLE[kind]].sort((a, b) => Number(b === preferred) - Number(a === preferred));
  const out: C[] = [];
  for (const name of names) {
    let same = codecs.filter((c) => c.mimeType.toLowerCase() === name);
    if (name === 'video/h264') {
      same = same
        .filter((c) => /packetization-mode=1/.test(c.parameters ?? ''))
        .sort((a, b) => h264Rank(a) - h264Rank(b));
    }
    if (same[0]) out.push(same[0]);
  }
  return out;
}

/** Constrained baseline (42e0..) first, other baseline next, then the rest. */
function h264Rank(codec: { parameters?: string | undefined }): number {
  const params = codec.parameters ?? '';
  if (/profile-level-id=42e0/i.test(params)) return 0;
  return /profile-level-id=42/i.test(params) ? 1 : 2;
}
