import type { MediaStreamTrack, RTCPeerConnection, RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import {
  closeAfterGathering,
  createPeerConnection,
  localHostCandidates,
  type PeerOptions,
  selectedCandidatePair,
} from './peer-options.js';
import type { IceCandidateInit } from './signaling/messages.js';

export type MediaKind = 'video' | 'audio';

export interface UpstreamHandlers {
  rtp(kind: MediaKind, mimeType: string, packet: RtpPacket): void;
  state(state: 'connected' | 'failed'): void;
}

/**
 * The media node's receive-only peer connection to one camera for one signaling session.
 * Owned by its Stream; close() releases sockets and subscriptions.
 */
export class UpstreamPeer {
  readonly #pc: RTCPeerConnection;
  readonly #log: Logger;
  readonly #videoSsrcs = new Set<number>();
  #videoReceiver: { sendRtcpPLI(ssrc: number): Promise<void> } | undefined;
  #gathering: Promise<unknown> | undefined;
  #closed = false;

  constructor(
    readonly session: string,
    options: PeerOptions,
    handlers: UpstreamHandlers,
    log: Logger,
  ) {
    this.#log = log;
    this.#pc = createPeerConnection(options);
    const video = this.#pc.addTransceiver('video', { direction: 'recvonly' });
    this.#pc.addTransceiver('audio', { direction: 'recvonly' });
    this.#videoReceiver = video.receiver;
    this.#pc.onTrack.subscribe((track: MediaStreamTrack) => {
      const kind = track.kind as MediaKind;
      track.onReceiveRtp.subscribe((packet) => {
        if (this.#closed) return;
        if (kind === 'video') this.#videoSsrcs.add(packet.header.ssrc);
        handlers.rtp(kind, track.codec?.mimeType ?? '', packet);
      });
    });
    this.#pc.connectionStateChange.subscribe((state) => {
      if (this.#closed) return;
      if (state === 'connected') {
        // Which path the camera's media takes: `relay` on either end means a TURN server carries it.
        this.#log.info({ ice: selectedCandidatePair(this.#pc) }, 'camera ICE connected');
        handlers.state('connected');
      } else if (state === 'failed') handlers.state('failed');
    });
  }

  /** Creates the offer; werift resolves setLocalDescription once gathering is complete. */
  async createOffer(): Promise<string> {
    const gathering = this.#pc.createOffer().then((offer) => this.#pc.setLocalDescription(offer));
    this.#gathering = gathering;
    await gathering;
    return this.#pc.localDescription!.sdp;
  }

  async applyAnswer(sdp: string): Promise<void> {
    // werift accepts some malformed SDP silently; refuse what cannot possibly connect, with a reason.
    const missing = [
      [/^m=(video|audio) /m, 'a media section'],
      [/^a=ice-ufrag:/m, 'ICE credentials (a=ice-ufrag)'],
      [/^a=fingerprint:/m, 'a DTLS fingerprint'],
    ].find(([pattern]) => !(pattern as RegExp).test(sdp));
    if (missing) throw new Error(`the answer has no ${missing[1] as string}`);
    await this.#pc.setRemoteDescription({ type: 'answer', sdp });
  }

  async addCandidate(candidate: IceCandidateInit | null): Promise<void> {
    if (!candidate || candidate.candidate === '') return; // end of candidates: nothing to do in werift
    await this.#pc.addIceCandidate({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? undefined,
      sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
    });
  }

  /** The UDP host candidates this peer connection listens on (for a TURN server's peer allow-list). */
  localHostCandidates(): Array<{ address: string; port: number }> {
    return this.#closed ? [] : localHostCandidates(this.#pc);
  }

  /** Sends a PLI for the camera's video (RFC 4585 §6.3.1). */
  requestKeyframe(): void {
    for (const ssrc of this.#videoSsrcs) {
      this.#videoReceiver
        ?.sendRtcpPLI(ssrc)
        .catch((err) => this.#log.debug({ err: (err as Error).message }, 'PLI failed'));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeAfterGathering(this.#pc, this.#gathering).catch((err) =>
      this.#log.debug({ err: (err as Error).message }, 'upstream close failed'),
    );
  }
}
