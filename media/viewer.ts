import { MediaStreamTrack, type RTCPeerConnection, type RtpPacket } from 'werift';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { clockRateOf } from './codecs.js';
import { isKeyframeStart } from './keyframe.js';
import { createPeerConnection, type PeerOptions } from './peer-options.js';
import { RtpContinuity } from './rtp-continuity.js';
import type { MediaKind } from './upstream-peer.js';

export interface ViewerHandlers {
  /** The viewer asked for a keyframe (PLI/FIR from its decoder). */
  keyframeRequest(): void;
  state(state: 'connected' | 'failed' | 'closed'): void;
}

interface Outlet {
  track: MediaStreamTrack;
  continuity: RtpContinuity | undefined;
  mimeType: string | undefined;
}

/**
 * One WHEP viewer: a send-only peer connection answering the viewer's offer. Packets from
 * the camera are cloned (werift rewrites headers in place when sending, and every viewer
 * shares the camera's packet), stripped of the camera's header extensions, made continuous
 * across camera restarts, and held back until the first keyframe.
 */
export class Viewer {
  readonly #pc: RTCPeerConnection;
  readonly #log: Logger;
  readonly #outlets: Record<MediaKind, Outlet>;
  #waitingForKeyframe = true;
  #connected = false;
  #closed = false;
  /** When the viewer last showed it is alive (RTCP from its browser), performance.now() ms. */
  #lastHeardAt = performance.now();

  constructor(
    readonly id: string,
    options: PeerOptions,
    handlers: ViewerHandlers,
    log: Logger,
  ) {
    this.#log = log;
    this.#pc = createPeerConnection(options);
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    this.#outlets = {
      video: { track: video, continuity: undefined, mimeType: undefined },
      audio: { track: audio, continuity: undefined, mimeType: undefined },
    };
    // Added before the remote offer, werift pairs these with the viewer's m-lines by kind.
    const videoTx = this.#pc.addTransceiver(video, { direction: 'sendonly' });
    const audioTx = this.#pc.addTransceiver(audio, { direction: 'sendonly' });
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
   * The answer carries only the camera's codec (`prefer`), since packets are forwarded as they
   * come: werift would otherwise answer in the viewer's order and send with its first codec.
   */
  async answer(offerSdp: string, prefer: Record<MediaKind, string>): Promise<string> {
    await this.#pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const transceiver of this.#pc.getTransceivers()) {
      const kind = transceiver.kind as MediaKind;
      const wanted = prefer[kind];
      if (!wanted) continue;
      const usable = preferredCodecs(transceiver.codecs, wanted);
      if (usable.length === 0 && kind === 'video') {
        throw new LookoutError(
          'NO_COMMON_CODEC',
          `the viewer does not accept ${wanted}, which the camera sends`,
        );
      }
      if (usable.length > 0) {
        transceiver.codecs = usable;
        // werift picked the sending codec while applying the offer, in the viewer's order: re-pick.
        const sender = transceiver.sender as unknown as { codec?: unknown; track?: { codec?: unknown } };
        sender.codec = usable[0];
        if (sender.track) sender.track.codec = usable[0];
      }
    }
    await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    const answer = this.#pc.localDescription!.sdp;
    for (const transceiver of this.#pc.getTransceivers()) {
      const kind = transceiver.kind as MediaKind;
      const codec = transceiver.codecs[0];
      if (codec && this.#outlets[kind]) this.#outlets[kind].mimeType = codec.mimeType;
    }
    return answer;
  }

  /** Trickle ICE from the viewer (candidates of an `application/trickle-ice-sdpfrag`). */
  async addCandidates(candidates: string[]): Promise<void> {
    for (const candidate of candidates) await this.#pc.addIceCandidate({ candidate, sdpMLineIndex: 0 });
  }

  /** Forwards one camera packet. `mimeType` is the camera's codec for this kind. */
  forward(kind: MediaKind, mimeType: string, packet: RtpPacket): void {
    if (this.#closed || !this.#connected) return;
    const outlet = this.#outlets[kind];
    if (!outlet.mimeType || outlet.mimeType.toLowerCase() !== mimeType.toLowerCase()) return; // not negotiated with this viewer
    if (kind === 'video' && this.#waitingForKeyframe) {
      if (!isKeyframeStart(mimeType, packet.payload)) return;
      this.#waitingForKeyframe = false;
    }
    outlet.continuity ??= new RtpContinuity(clockRateOf(mimeType));
    const copy = packet.clone();
    copy.header.extensions = [];
    copy.header.extension = false;
    const mapped = outlet.continuity.map(packet.header);
    copy.header.sequenceNumber = mapped.sequenceNumber;
    copy.header.timestamp = mapped.timestamp;
    outlet.track.writeRtp(copy);
  }

  /** The camera's stream restarted: wait for its next keyframe before sending video again. */
  resync(): void {
    this.#waitingForKeyframe = true;
  }

  /** Milliseconds since the viewer's browser last sent RTCP (receiver reports arrive about every second). */
  get silentForMs(): number {
    return performance.now() - this.#lastHeardAt;
  }

  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pc
      .close()
      .catch((err) => this.#log.debug({ err: (err as Error).message }, 'viewer close failed'));
  }
}

/** The codecs of `mimeType` a viewer offered, best first (H.264: packetization-mode 1 only, constrained baseline first). */
export function preferredCodecs<C extends { mimeType: string; parameters?: string | undefined }>(
  codecs: C[],
  mimeType: string,
): C[] {
  const same = codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
  if (mimeType.toLowerCase() !== 'video/h264') return same;
  const mode1 = same.filter((c) => /packetization-mode=1/.test(c.parameters ?? ''));
  const rank = (c: C) =>
    /profile-level-id=42e0/i.test(c.parameters ?? '')
      ? 0
      : /profile-level-id=42/i.test(c.parameters ?? '')
        ? 1
        : 2;
  return mode1.sort((a, b) => rank(a) - rank(b));
}
