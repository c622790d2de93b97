/**
 * Reading a held camera's socket cheaply (D42). While a camera's SRTP is held (srtp-hold.ts), what
 * it costs is mostly receiving: a wake-up of the worker for each burst of datagrams, and for each
 * datagram werift's STUN parse and its ICE and DTLS event layers before the hold takes it. So,
 * while held:
 * - SRTP goes from werift's UDP transports straight to the DTLS transport's `holdSrtp` (a werift
 *   patch). Everything else (STUN, DTLS, SRTCP) takes werift's own path. Every UDP socket of the
 *   ICE agent is read so, not only the selected pair's: werift hands SRTP from any of them to
 *   DTLS, and a werift camera may send on a pair other than the one the media node selected.
 * - The socket is read in batches: it stops reading between the ticks of one timer shared by every
 *   held socket of the process, and the kernel queues the datagrams meanwhile; a tick drains them
 *   all in one wake-up. A socket whose recent ticks (a keyframe's burst) came near a quarter of
 *   its receive buffer is read continuously instead (BatchPolicy), so a batch does not risk the
 *   kernel dropping (a held keyframe is what a returning viewer starts from).
 * Nothing here decrypts or changes a packet; holding ends with every reader detached first.
 */
import type { Socket } from 'node:dgram';
import type { RTCDtlsTransport } from 'werift';
import { udpHandle } from './udp-handle.js';

/** How often a batched socket is read: the latency a held camera's datagrams wait in the kernel. */
export const BATCH_TICK_MS = 100;
/** libuv reads at most 32 datagrams each time a socket is readable: a drain that read as many goes on. */
const READS_PER_WAKE = 32;
/** The largest tick seen decays by this each tick (half-life ~3.4 s at 100 ms). */
const PEAK_DECAY = 0.98;

/** werift 0.24's internals on the way from a DTLS transport to the socket its ICE selected. */
interface WeriftUdpTransport {
  type?: string;
  closed?: boolean;
  socket?: Socket;
  onData: (data: Buffer, addr: [string, number]) => void;
}
interface WeriftIceConnection {
  protocols?: Array<{ type?: string; transport?: WeriftUdpTransport }>;
}

/**
 * Whether a socket may be read in batches, judged at each tick from the bytes it read since the
 * last one. Datagrams queue in the kernel at about twice their size (Linux reports the receive
 * buffer doubled for that), so a batch must stay well under a quarter of the buffer. The judge is
 * the largest tick seen, decaying, which remembers a keyframe's burst for some seconds: a socket
 * batches once that is under an eighth of the buffer and reads continuously from a tick over a
 * quarter until it is under an eighth again. It starts at a quarter: a socket is read
 * continuously until a few seconds show what a batch would hold. Pure.
 */
export class BatchPolicy {
  readonly #over: number;
  readonly #under: number;
  #peak: number;
  #batching = false;

  constructor(receiveBufferBytes: number) {
    this.#over = receiveBufferBytes / 4;
    this.#under = receiveBufferBytes / 8;
    this.#peak = this.#over;
  }

  /** One tick with `bytes` read since the last: true when the socket may pause until the next. */
  tick(bytes: number): boolean {
    this.#peak = Math.max(bytes, this.#peak * PEAK_DECAY);
    if (bytes > this.#over) this.#batching = false;
    else if (this.#peak <= this.#under) this.#batching = true;
    return this.#batching;
  }
}

/** The ticks that read every batched socket of a process, one timer for all of them. */
export class BatchedReads {
  readonly #readers = new Set<HeldSocketReader>();
  #timer: NodeJS.Timeout | undefined;

  /** `tickMs` 0: no timer, the owner calls tick() (tests). */
  constructor(readonly tickMs = BATCH_TICK_MS) {}

  add(reader: HeldSocketReader): void {
    this.#readers.add(reader);
    if (!this.#timer && this.tickMs > 0) {
      this.#timer = setInterval(() => this.tick(), this.tickMs);
      this.#timer.unref();
    }
  }

  remove(reader: HeldSocketReader): void {
    this.#readers.delete(reader);
    if (this.#readers.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  get size(): number {
    return this.#readers.size;
  }

  /** Every paused socket reads again; once libuv has polled them (the check phase), they pause. */
  tick(): void {
    for (const reader of this.#readers) reader.beginBatch();
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    let again = false;
    for (const reader of this.#readers) if (reader.endBatch()) again = true;
    if (again) setImmediate(() => this.#drain());
  }
}

/** The process's ticks (one media worker, or the server with `media.workers` 0). */
export const batchedReads = new BatchedReads();

/** One held DTLS transport's socket, read past werift's layers and in batches until detached. */
export class HeldSocketReader {
  readonly #udp: WeriftUdpTransport;
  readonly #socket: Socket;
  readonly #original: WeriftUdpTransport['onData'];
  readonly #filter: WeriftUdpTransport['onData'];
  readonly #reads: BatchedReads;
  /** Bytes read since the last tick, and datagrams since the last drain check. */
  #bytes = 0;
  #count = 0;
  readonly #policy: BatchPolicy;
  #paused = false;
  #batching = false;
  #detached = false;

  /**
   * Starts reading so each UDP socket of the transport's ICE agent (its host candidates'); none
   * where werift's internals are not as expected, or for TURN and TCP (they keep werift's path).
   */
  static attachAll(dtls: RTCDtlsTransport, reads: BatchedReads = batchedReads): HeldSocketReader[] {
    const connection = (dtls.iceTransport as unknown as { connection?: WeriftIceConnection }).connection;
    const readers: HeldSocketReader[] = [];
    for (const protocol of connection?.protocols ?? []) {
      const udp = protocol.transport;
      if (protocol.type !== 'stun' || udp?.type !== 'udp' || udp.closed || !udp.socket) continue;
      if (typeof udp.onData !== 'function' || !udpHandle(udp.socket)) continue;
      let receiveBuffer: number;
      try {
        receiveBuffer = udp.socket.getRecvBufferSize();
      } catch {
        continue; // closed meanwhile
      }
      readers.push(new HeldSocketReader(dtls, udp, udp.socket, receiveBuffer, reads));
    }
    return readers;
  }

  private constructor(
    dtls: RTCDtlsTransport,
    udp: WeriftUdpTransport,
    socket: Socket,
    receiveBuffer: number,
    reads: BatchedReads,
  ) {
    this.#udp = udp;
    this.#socket = socket;
    this.#reads = reads;
    this.#original = udp.onData;
    this.#policy = new BatchPolicy(receiveBuffer);
    this.#filter = (data, addr) => {
      this.#bytes += data.length;
      this.#count++;
      // As werift's DTLS transport tells SRTP apart (first byte 128-191, not RTCP's 192-208 second byte).
      if (
        dtls.srtpHold !== undefined &&
        data.length >= 12 &&
        data[0]! >= 128 &&
        data[0]! < 192 &&
        (data[1]! < 192 || data[1]! > 208)
      ) {
        dtls.holdSrtp(data);
        return;
      }
      this.#original(data, addr);
    };
    udp.onData = this.#filter;
    reads.add(this);
  }

  /** Reading in batches now (not continuously). */
  get batching(): boolean {
    return this.#batching;
  }

  /** Paused now: the kernel queues the socket's datagrams until the next tick. */
  get paused(): boolean {
    return this.#paused;
  }

  /** A tick: judge the last one's bytes, and read again if paused. */
  beginBatch(): void {
    this.#batching = this.#policy.tick(this.#bytes);
    this.#bytes = 0;
    this.#count = 0;
    if (this.#paused) {
      this.#paused = false;
      udpHandle(this.#socket)?.recvStart();
    }
  }

  /** After libuv polled the socket: pause it, or true when it may hold more (read as many as libuv reads at once). */
  endBatch(): boolean {
    if (this.#paused || !this.#batching || this.#detached) return false;
    if (this.#count >= READS_PER_WAKE) {
      this.#count = 0;
      return true;
    }
    const handle = this.#udp.closed ? undefined : udpHandle(this.#socket);
    if (!handle) return false;
    handle.recvStop();
    this.#paused = true;
    return false;
  }

  /** werift reads the socket itself again, continuously (what the kernel queued meanwhile comes next). */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#reads.remove(this);
    if (this.#udp.onData === this.#filter) this.#udp.onData = this.#original;
    if (this.#paused) {
      this.#paused = false;
      if (!this.#udp.closed) udpHandle(this.#socket)?.recvStart();
    }
  }
}
