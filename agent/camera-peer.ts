import { MediaStreamTrack, RTCPeerConnection, type RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import { audioCodecs, rtxFor, videoCodecs } from '../media/codecs.js';
import { KeyframeCache } from '../media/keyframe-cache.js';
import { closeAfterGathering, selectedCandidatePair, weriftIceServers } from '../media/peer-options.js';
import type { IceCandidateInit, IceServer } from '../media/signaling/messages.js';

export interface CameraPeerHandlers {
  keyframeRequest(): void;
  candidate(candidate: IceCandidateInit | null): void;
  state(state: 'connected' | 'failed' | 'closed'): void;
}

/** The camera's send-only peer connection for one signaling session. */
export class CameraPeer {
  readonly #pc: RTCPeerConnection;
  readonly #video = new MediaStreamTrack({ kind: 'video' });
  readonly #audio = new MediaStreamTrack({ kind: 'audio' });
  readonly #log: Logger;
  #gathering: Promise<unknown> | undefined;
  #closed = false;
  /**
   * Video from the latest keyframe while the peer connects (werift drops what is written before):
   * the encoder starts with the answer, and its first frame, the keyframe, often comes before
   * DTLS is up. Sent when it is; undefined after.
   */
  #held: KeyframeCache | undefined = new KeyframeCache({ maxBytes: 4 * 1024 * 1024, maxAgeMs: 60_000 });
  readonly #videoMime: string;

  constructor(
    readonly session: string,
    options: {
      iceServers: IceServer[];
      additionalHostAddresses: string[];
      forceRelay: boolean;
      video: string;
      audio: string;
      h264Profile?: 'baseline' | 'main' | 'high' | undefined;
    },
    handlers: CameraPeerHandlers,
    log: Logger,
  ) {
    this.#log = log;
    this.#videoMime = `video/${options.video}`;
    this.#pc = new RTCPeerConnection({
      // Our own ICE servers only: werift's default would ask a public STUN server.
      iceServers: weriftIceServers(options.iceServers),
      iceTransportPolicy: options.forceRelay ? 'relay' : 'all',
      iceAdditionalHostAddresses: options.additionalHostAddresses,
      // Offer to send exactly what the encoder produces (edge config stream.video/audio.codec).
      codecs: {
        video: pick(
          videoCodecs(),
          `video/${options.video}`,
          PROFILE_LEVEL_IDS[options.h264Profile ?? 'baseline'],
        ),
        audio: pick(audioCodecs(), `audio/${options.audio}`),
      },
      headerExtensions: { video: [], audio: [] },
      bundlePolicy: 'max-bundle', // see media/peer-options.ts
    });
    // Send-only transceivers added before the offer is applied are matched to its m-lines by kind.
    const video = this.#pc.addTransceiver(this.#video, { direction: 'sendonly' });
    this.#pc.addTransceiver(this.#audio, { direction: 'sendonly' });
    video.sender.onPictureLossIndication.subscribe(() => handlers.keyframeRequest());
    this.#pc.onIceCandidate.subscribe((candidate) => {
      if (this.#closed) return;
      handlers.candidate(
        candidate
          ? {
              candidate: candidate.candidate,
              sdpMid: candidate.sdpMid ?? null,
              sdpMLineIndex: candidate.sdpMLineIndex ?? null,
            }
          : null,
      );
    });
    this.#pc.connectionStateChange.subscribe((state) => {
      if (this.#closed) return;
      // `relay` on the local end: our media goes through the TURN server.
      if (state === 'connected') {
        this.#log.info({ ice: selectedCandidatePair(this.#pc) }, 'ICE connected');
        const held = this.#held?.burst();
        this.#held = undefined;
        for (const packet of held?.packets ?? []) this.#video.writeRtp(packet.clone());
      }
      if (state === 'connected' || state === 'failed' || state === 'closed') handlers.state(state);
    });
  }

  /** Applies the server's offer and returns the answer (complete: werift gathers before resolving). */
  async answer(offerSdp: string): Promise<string> {
    const gathering = (async () => {
      await this.#pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    })();
    this.#gathering = gathering;
    await gathering;
    return this.#pc.localDescription!.sdp;
  }

  async addCandidate(candidate: IceCandidateInit | null): Promise<void> {
    if (!candidate?.candidate) return;
    await this.#pc.addIceCandidate({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? undefined,
      sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
    });
  }

  send(kind: 'video' | 'audio', packet: RtpPacket): void {
    if (this.#closed) return;
    if (this.#held) {
      if (kind === 'video') this.#held.push(this.#videoMime, packet);
      return;
    }
    // writeRtp rewrites SSRC and payload type in place: hand it a copy.
    (kind === 'video' ? this.#video : this.#audio).writeRtp(packet.clone());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeAfterGathering(this.#pc, this.#gathering).catch((err) =>
      this.#log.debug({ err: (err as Error).message }, 'close failed'),
    );
  }
}

/** profile-level-id (RFC 6184 §8.1) of each H.264 profile the agent can encode, at level 3.1. */
const PROFILE_LEVEL_IDS = { baseline: '42e01f', main: '4d001f', high: '64001f' } as const;

function pick<
  C extends { mimeType: string; payloadType?: number | undefined; parameters?: string | undefined },
>(codecs: C[], mimeType: string, profileLevelId?: string): C[] {
  const same = codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
  const exact = profileLevelId
    ? same.filter((c) => (c.parameters ?? '').includes(`profile-level-id=${profileLevelId}`))
    : [];
  const match = (exact.length > 0 ? exact : same).slice(0, 1);
  const chosen = match.length > 0 ? match : codecs.slice(0, 1);
  // Keep the chosen codec's RTX (RFC 4588), so retransmissions on NACK travel as RTX when the server agrees.
  const retransmission = chosen[0] && rtxFor(codecs, chosen[0]);
  return retransmission ? [...chosen, retransmission] : chosen;
}
