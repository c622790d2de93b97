import type { MediaStreamTrack, RTCDtlsTransport, RTCPeerConnection, RtpPacket } from 'werift';
import type { Logger } from '../core/log.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';
import { type BatchedReads, batchedReads, HeldSocketReader } from './held-socket.js';
import { decryptNatively } from './native-decrypt.js';
import { loadNativeSrtp } from './native-srtp.js';
import { routeUnsignaledSsrcsByPayloadType } from './payload-type-demux.js';
import {
  closeAfterGathering,
  createPeerConnection,
  localHostCandidates,
  type PeerOptions,
  selectedCandidatePair,
} from './peer-options.js';
import { raiseReceiveBuffers } from './receive-buffers.js';
import type { IceCandidateInit } from './signaling/messages.js';
import { SrtpHoldBuffer } from './srtp-hold.js';

export type MediaKind = 'video' | 'audio';

/** After ICE and DTLS connect, how long without RTP before the log says the camera sends nothing. */
const NO_MEDIA_WARNING_MS = 5000;

export interface UpstreamHandlers {
  rtp(kind: MediaKind, mimeType: string, packet: RtpPacket): void;
  /** Bytes of the camera's media received (each datagram once: held, or decrypted on arrival). */
  received(bytes: number): void;
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
  /** Mime type of each negotiated payload type, filled on first use. */
  readonly #mimeTypes = new Map<number, string>();
  #streaming = false;
  #noMediaTimer: NodeJS.Timeout | undefined;
  readonly #handlers: UpstreamHandlers;
  /** While holding (srtp-hold.ts): how far back to keep the camera's SRTP. */
  #holdWindowMs: (() => number) | undefined;
  readonly #held = new Map<RTCDtlsTransport, SrtpHoldBuffer>();
  /** While holding, each DTLS transport's socket is read past werift's layers and in batches (held-socket.ts). */
  readonly #readers = new Map<RTCDtlsTransport, HeldSocketReader[]>();
  /** Held packets are being delivered (their bytes were counted when they were held). */
  #releasing = false;
  readonly #now: () => number;
  #closed = false;

  constructor(
    readonly session: string,
    options: PeerOptions,
    handlers: UpstreamHandlers,
    log: Logger,
    limitLog: RateLimitedLog,
    now: () => number = () => performance.now(),
    /** The ticks that read held sockets (held-socket.ts): the process's unless a test drives its own. */
    private readonly reads: BatchedReads = batchedReads,
  ) {
    this.#log = log;
    this.#now = now;
    this.#pc = createPeerConnection(options);
    routeUnsignaledSsrcsByPayloadType(this.#pc, log, limitLog, session);
    const video = this.#pc.addTransceiver('video', { direction: 'recvonly' });
    this.#pc.addTransceiver('audio', { direction: 'recvonly' });
    this.#videoReceiver = video.receiver;
    this.#handlers = handlers;
    this.#pc.onTrack.subscribe((track: MediaStreamTrack) => {
      const kind = track.kind as MediaKind;
      track.onReceiveRtp.subscribe((packet) => {
        if (this.#closed) return;
        if (kind === 'video') this.#videoSsrcs.add(packet.header.ssrc);
        const mimeType = this.#mimeTypeOf(packet.header.payloadType) ?? track.codec?.mimeType ?? '';
        if (!this.#streaming) {
          this.#streaming = true;
          clearTimeout(this.#noMediaTimer);
          this.#log.info({ kind, mimeType, ssrc: packet.header.ssrc }, 'camera streaming');
        }
        if (!this.#releasing) handlers.received(packet.serializeSize);
        handlers.rtp(kind, mimeType, packet);
      });
    });
    this.#pc.connectionStateChange.subscribe((state) => {
      if (this.#closed) return;
      if (state === 'connected') {
        // Before the camera's first keyframe burst: werift leaves the kernel's small default.
        const receiveBuffers = raiseReceiveBuffers(this.#pc);
        // Which path the camera's media takes: `relay` on either end means a TURN server carries it.
        this.#log.info({ ice: selectedCandidatePair(this.#pc), receiveBuffers }, 'camera ICE connected');
        if (!this.#streaming)
          this.#noMediaTimer = setTimeout(
            () => this.#log.warn({ afterMs: NO_MEDIA_WARNING_MS }, 'camera connected but sends no media'),
            NO_MEDIA_WARNING_MS,
          );
        const native = options.nativeSrtp ? loadNativeSrtp().addon : undefined;
        if (native) decryptNatively(this.#pc, native);
        this.#applyHold();
        handlers.state('connected');
      } else if (state === 'failed') handlers.state('failed');
    });
  }

  /** The codec of a payload type as negotiated (the track only knows the first codec). */
  #mimeTypeOf(payloadType: number): string | undefined {
    let mimeType = this.#mimeTypes.get(payloadType);
    if (mimeType === undefined) {
      mimeType = this.#pc
        .getTransceivers()
        .flatMap((t) => t.codecs)
        .find((c) => c.payloadType === payloadType)?.mimeType;
      if (mimeType !== undefined && this.#mimeTypes.size < 128) this.#mimeTypes.set(payloadType, mimeType);
    }
    return mimeType;
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

  /**
   * Holds the camera's SRTP undecrypted from now on (srtp-hold.ts), keeping `windowMs()` of it,
   * or (undefined) stops holding and delivers what was held. Applies to the DTLS transport once
   * it connects if it has not yet.
   */
  hold(windowMs: (() => number) | undefined): void {
    if (this.#closed) return;
    this.#holdWindowMs = windowMs;
    this.#applyHold();
    if (!windowMs) this.catchUp();
  }

  /** Decrypts and delivers every packet held so far, oldest first, as if it had just arrived. */
  catchUp(): void {
    if (this.#closed) return;
    for (const [transport, buffer] of this.#held) {
      const packets = buffer.take();
      if (packets.length === 0) continue;
      // werift's NACK generator would take the packets not held (older than the window) for lost.
      for (const t of this.#pc.getTransceivers())
        (t.receiver as unknown as { nack: { newEstSeqNum: number } }).nack.newEstSeqNum = 0;
      this.#releasing = true;
      let dropped = 0;
      try {
        for (const p of packets) if (!transport.releaseHeldSrtp(p.data, p.rolloverCounter)) dropped++;
      } finally {
        this.#releasing = false;
      }
      this.#log.debug({ packets: packets.length, dropped }, 'held camera media decrypted');
    }
  }

  /** Packets held now, over all transports (for tests and metrics). */
  get heldPackets(): number {
    let n = 0;
    for (const buffer of this.#held.values()) n += buffer.count;
    return n;
  }

  #applyHold(): void {
    const windowMs = this.#holdWindowMs;
    const handlers = this.#handlers;
    for (const transport of this.#pc.dtlsTransports) {
      if (!windowMs) {
        for (const reader of this.#readers.get(transport) ?? []) reader.detach();
        this.#readers.delete(transport);
        transport.srtpHold = undefined;
        continue;
      }
      let buffer = this.#held.get(transport);
      if (!buffer) {
        buffer = new SrtpHoldBuffer(undefined, this.#now);
        this.#held.set(transport, buffer);
      }
      const into = buffer;
      transport.srtpHold = (data, rolloverCounter) => {
        handlers.received(data.length);
        into.push(data, rolloverCounter, windowMs());
      };
      if (!this.#readers.has(transport) && transport.srtpStarted) {
        this.#readers.set(transport, HeldSocketReader.attachAll(transport, this.reads));
      }
    }
  }

  /** The held sockets' readers (held-socket.ts; for tests). */
  get heldSocketReaders(): HeldSocketReader[] {
    return [...this.#readers.values()].flat();
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
    clearTimeout(this.#noMediaTimer);
    for (const reader of this.heldSocketReaders) reader.detach();
    this.#readers.clear();
    for (const transport of this.#pc.dtlsTransports) transport.srtpHold = undefined;
    this.#held.clear();
    await closeAfterGathering(this.#pc, this.#gathering).catch((err) =>
      this.#log.debug({ err: (err as Error).message }, 'upstream close failed'),
    );
  }
}
