import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { RTCRtpSender } from 'werift';
import type { NativeSrtp, NativeSrtpSession } from './native-srtp.js';
import { createSrtpProtector, RolloverCounter, type SrtpProtector } from './srtp-protect.js';
import { type UdpHandle, udpHandle } from './udp-handle.js';

/**
 * The parts of werift 0.24's sender, DTLS and ICE objects this writer uses (internals, not its
 * public API: test/integration/viewer-rtp-sender.test.ts fails if they move).
 */
interface IcePair {
  protocol: { type: string; transport?: { type: string; closed: boolean; socket: Socket } };
  remoteAddr: [string, number];
  packetsSent: number;
  bytesSent: number;
}
interface DtlsTransport {
  state: string;
  bytesSent: number;
  packetsSent: number;
  srtp?: {
    localContext: {
      profile: number;
      srtpSessionKey: Buffer;
      srtpSessionSalt: Buffer;
      srtpSessionAuthTag: Buffer;
    };
  };
  iceTransport: {
    connection: { nominated?: IcePair; canSendApplicationData(): boolean; send(data: Buffer): Promise<void> };
  };
}
interface SenderInternals {
  ssrc: number;
  rtxSsrc: number;
  rtxPayloadType?: number | undefined;
  dtlsTransport?: DtlsTransport;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  headerBytesSent: number;
  retransmittedPacketsSent: number;
  retransmittedBytesSent: number;
  runRtcp(): Promise<void>;
}

/** Packets kept for retransmission on NACK (~1 s of 2 Mbps video); payloads are the camera's, shared. */
const HISTORY = 256;
/** Most sequence numbers one NACK may ask for (the rest are ignored; a peer controls the list). */
const MAX_NACKED = 64;
const RTP_HEADER_SIZE = 12;
/** The largest payload the native addon takes (media/native/srtp-send.c); larger go the JavaScript way. */
const NATIVE_MAX_PAYLOAD = 4096;

/**
 * Sends one viewer's RTP for one werift sender, instead of werift's `sendRtp`: builds the
 * 12-byte header (no extensions are negotiated, peer-options.ts), protects it with SRTP
 * without copying the camera's payload, and writes header, ciphertext and tag with one
 * scatter-gather `sendmsg` on the ICE pair's socket. werift still owns ICE, DTLS and RTCP: its
 * sender reports (SR) read the counters kept here, and NACKs it parses are answered from this
 * writer's history (in RTX when negotiated, RFC 4588). werift's per-packet work this skips:
 * header-extension rebuilding, an NTP time built from a string, bandwidth-estimator
 * bookkeeping, three promises, and the copies of header and payload.
 */
export class ViewerRtpSender {
  readonly #sender: SenderInternals;
  readonly #roc = new RolloverCounter();
  readonly #rtxRoc = new RolloverCounter();
  #rtxSeq = Math.floor(Math.random() * 0x10000);
  #protector: SrtpProtector | undefined;
  /** The same keys in the native addon, with the selected pair's address as its destination. */
  #nativeSession: NativeSrtpSession | undefined;
  #keysOf: object | undefined;
  #pair: IcePair | undefined;
  #direct = false;
  /** The pair the native session's destination was set for, and its socket's handle (undefined: not direct). */
  #nativePair: IcePair | undefined;
  #nativeHandle: UdpHandle | undefined;
  /** Header of the packet being sent natively: sendmsg is done when send() returns, so one is reused. */
  readonly #nativeHeader = Buffer.alloc(RTP_HEADER_SIZE);
  #rtcpStarted = false;
  readonly #seqs = new Int32Array(HISTORY).fill(-1);
  readonly #timestamps = new Uint32Array(HISTORY);
  readonly #meta = new Uint8Array(HISTORY); // marker bit | payload type
  readonly #rocs = new Uint32Array(HISTORY);
  readonly #payloads: Array<Buffer | undefined> = new Array(HISTORY);
  readonly #unsubscribe: () => void;

  /**
   * `onWritten`: called with the bytes of each packet written to the socket (for metrics).
   * `native`: the native SRTP sender (native-srtp.ts), used for packets on a direct UDP pair.
   */
  constructor(
    sender: RTCRtpSender,
    private readonly onWritten: (bytes: number) => void = () => {},
    private readonly native?: NativeSrtp,
  ) {
    this.#sender = sender as unknown as SenderInternals;
    const { unSubscribe } = sender.onGenericNack.subscribe((nack) => this.#retransmit(nack.lost));
    this.#unsubscribe = unSubscribe;
  }

  /** Sends one packet; drops it (as werift does) until DTLS is up. `payload` is not modified. */
  send(payloadType: number, marker: boolean, seq: number, timestamp: number, payload: Buffer): void {
    const transport = this.#sender.dtlsTransport;
    if (transport?.state !== 'connected') return;
    const protector = this.#protectorFor(transport);
    if (!protector) return;
    const ssrc = this.#sender.ssrc;
    const roc = this.#roc.next(seq);
    if (!this.#sendNative(transport, marker, payloadType, seq, timestamp, payload, roc)) {
      const header = rtpHeader(marker, payloadType, seq, timestamp, ssrc);
      this.#write(transport, protector.protect(header, payload, ssrc, seq, roc));
    }
    const slot = seq % HISTORY;
    this.#seqs[slot] = seq;
    this.#timestamps[slot] = timestamp;
    this.#meta[slot] = (marker ? 0x80 : 0) | payloadType;
    this.#rocs[slot] = roc;
    this.#payloads[slot] = payload;
    // What werift's sender reports (RTCP SR, RFC 3550 §6.4.1) and shows in getStats().
    const s = this.#sender;
    s.ntpTimestamp = ntpNow();
    s.rtpTimestamp = timestamp;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.octetCount += payload.length;
    s.headerBytesSent += RTP_HEADER_SIZE;
    if (!this.#rtcpStarted) {
      this.#rtcpStarted = true;
      s.runRtcp().catch(() => {});
    }
  }

  close(): void {
    this.#unsubscribe();
    this.#payloads.fill(undefined);
  }

  #protectorFor(transport: DtlsTransport): SrtpProtector | undefined {
    const srtp = transport.srtp;
    if (!srtp) return undefined;
    if (this.#keysOf !== srtp) {
      this.#keysOf = srtp;
      this.#nativeSession = undefined;
      this.#nativePair = undefined;
      this.#nativeHandle = undefined;
      const c = srtp.localContext;
      try {
        this.#protector = createSrtpProtector({
          profile: c.profile,
          key: c.srtpSessionKey,
          salt: c.srtpSessionSalt,
          authKey: c.srtpSessionAuthTag,
        });
      } catch {
        // A profile werift negotiated but this file does not implement (none in werift 0.24):
        // nothing is sent rather than a throw into the camera's packet loop.
        this.#protector = undefined;
      }
      try {
        this.#nativeSession = this.native?.session(
          c.profile,
          c.srtpSessionKey,
          c.srtpSessionSalt,
          c.srtpSessionAuthTag,
        );
      } catch {
        this.#nativeSession = undefined; // keys the addon refuses: the JavaScript path sends
      }
    }
    return this.#protector;
  }

  /**
   * Protects and writes one packet with the native addon when the viewer is on a direct UDP
   * pair; false when it cannot (no addon, a TURN or TCP pair, the socket closed): the caller
   * takes the JavaScript path. A packet the kernel refuses (a full socket buffer) is dropped.
   */
  #sendNative(
    transport: DtlsTransport,
    marker: boolean,
    payloadType: number,
    seq: number,
    timestamp: number,
    payload: Buffer,
    roc: number,
  ): boolean {
    const session = this.#nativeSession;
    if (!session || payload.length > NATIVE_MAX_PAYLOAD) return false;
    const connection = transport.iceTransport.connection;
    if (!connection.canSendApplicationData()) return true; // as #write: nothing is sent
    const pair = connection.nominated!;
    if (pair !== this.#nativePair) {
      this.#nativePair = pair;
      this.#nativeHandle = this.#nativeDestination(session, pair);
    }
    const fd = this.#nativeHandle?.fd ?? -1;
    if (fd < 0 || pair.protocol.transport?.closed) return false;
    const header = rtpHeader(marker, payloadType, seq, timestamp, this.#sender.ssrc, this.#nativeHeader);
    const bytes = this.native!.send(session, fd, header, payload, roc);
    if (bytes < 0) return true; // dropped (EAGAIN: the socket's buffer is full)
    pair.packetsSent++;
    pair.bytesSent += bytes;
    transport.bytesSent += bytes;
    transport.packetsSent++;
    this.onWritten(bytes);
    return true;
  }

  /** Points the native session at a direct pair; the pair's socket handle, or undefined if it cannot be. */
  #nativeDestination(session: NativeSrtpSession, pair: IcePair): UdpHandle | undefined {
    this.#selectPair(pair);
    const udp = pair.protocol.transport;
    if (!this.#direct || !udp || udp.closed) return undefined;
    if (!this.native!.destination(session, pair.remoteAddr[0], pair.remoteAddr[1])) return undefined;
    return udpHandle(udp.socket);
  }

  /** Whether the pair is a host UDP pair to an address (not a name, not TURN, not TCP): written to directly. */
  #selectPair(pair: IcePair): void {
    if (pair === this.#pair) return;
    this.#pair = pair;
    const t = pair.protocol.transport;
    this.#direct = pair.protocol.type === 'stun' && t?.type === 'udp' && isIP(pair.remoteAddr[0]) !== 0;
  }

  #write(transport: DtlsTransport, chunks: Buffer[]): void {
    const connection = transport.iceTransport.connection;
    if (!connection.canSendApplicationData()) return;
    const pair = connection.nominated!;
    this.#selectPair(pair);
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const udp = pair.protocol.transport;
    if (this.#direct && udp && !udp.closed) {
      try {
        udp.socket.send(chunks, pair.remoteAddr[1], pair.remoteAddr[0]);
      } catch {
        return; // the socket closed under us: the viewer is going away
      }
      pair.packetsSent++;
      pair.bytesSent += bytes;
    } else {
      connection.send(Buffer.concat(chunks, bytes)).catch(() => {});
    }
    transport.bytesSent += bytes;
    transport.packetsSent++;
    this.onWritten(bytes);
  }

  /** Answers a viewer's generic NACK (RFC 4585 §6.2.1) from the history. */
  #retransmit(lost: number[]): void {
    const transport = this.#sender.dtlsTransport;
    if (transport?.state !== 'connected') return;
    const protector = this.#protectorFor(transport);
    if (!protector) return;
    for (const seq of lost.slice(0, MAX_NACKED)) {
      const slot = seq % HISTORY;
      const payload = this.#payloads[slot];
      if (this.#seqs[slot] !== seq || !payload) continue;
      const marker = (this.#meta[slot]! & 0x80) !== 0;
      const timestamp = this.#timestamps[slot]!;
      const rtxPayloadType = this.#sender.rtxPayloadType;
      let chunks: Buffer[];
      if (rtxPayloadType !== undefined) {
        // RFC 4588 §4: the RTX payload is the original sequence number, then the original payload.
        const rtxSeq = this.#rtxSeq;
        this.#rtxSeq = (rtxSeq + 1) & 0xffff;
        const ssrc = this.#sender.rtxSsrc;
        const osn = Buffer.allocUnsafe(2);
        osn.writeUInt16BE(seq);
        const header = rtpHeader(marker, rtxPayloadType, rtxSeq, timestamp, ssrc);
        chunks = protector.protect(
          header,
          Buffer.concat([osn, payload]),
          ssrc,
          rtxSeq,
          this.#rtxRoc.next(rtxSeq),
        );
      } else {
        const ssrc = this.#sender.ssrc;
        const header = rtpHeader(marker, this.#meta[slot]! & 0x7f, seq, timestamp, ssrc);
        chunks = protector.protect(header, payload, ssrc, seq, this.#rocs[slot]!);
      }
      this.#write(transport, chunks);
      this.#sender.retransmittedPacketsSent++;
      this.#sender.retransmittedBytesSent += payload.length;
    }
  }
}

/** RFC 3550 §5.1 fixed header: V=2, no padding, no extension, no CSRC; written into `header` (a new one by default). */
function rtpHeader(
  marker: boolean,
  payloadType: number,
  seq: number,
  timestamp: number,
  ssrc: number,
  header = Buffer.allocUnsafe(RTP_HEADER_SIZE),
): Buffer {
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return header;
}

/** Seconds from 1900 to 1970 (RFC 5905 §6). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
let ntpCachedMs = -1;
let ntpCached = 0n;

/**
 * Now as a 64-bit NTP timestamp (RFC 3550 §4), computed at most once per millisecond for all
 * viewers (one camera packet is sent to each viewer within the same millisecond).
 */
export function ntpNow(nowMs = Date.now()): bigint {
  if (nowMs !== ntpCachedMs) {
    ntpCachedMs = nowMs;
    ntpCached = ntpFromUnixMs(nowMs);
  }
  return ntpCached;
}

export function ntpFromUnixMs(ms: number): bigint {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 0x1_0000_0000);
  return (BigInt(seconds + NTP_UNIX_OFFSET_S) << 32n) | BigInt(fraction);
}
