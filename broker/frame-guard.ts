/**
 * Byte limits at the socket, before aedes sees anything. aedes 1.x buffers a whole
 * packet of any declared size, even before CONNECT; this guard reads only MQTT fixed
 * headers (type byte + Remaining Length, MQTT 3.1.1 §2.2) and rejects a packet as
 * soon as its header declares too many bytes, so an attacker cannot make us buffer.
 * Pure: feed it chunks, it answers.
 */

export interface FrameLimits {
  /** Largest CONNECT packet (whole packet, header included). */
  maxConnectBytes: number;
  /** Largest packet after CONNECT. */
  maxPacketBytes: number;
}

export type GuardVerdict = { ok: true } | { ok: false; code: GuardViolation; message: string };

export type GuardViolation =
  | 'FIRST_PACKET_NOT_CONNECT'
  | 'PACKET_TOO_LARGE'
  | 'MALFORMED_LENGTH'
  | 'PRE_AUTH_BYTES';

const CONNECT = 1;
const OK: GuardVerdict = { ok: true };

export class MqttFrameGuard {
  readonly #limits: FrameLimits;
  #authenticated = false;
  #preAuthBytes = 0;
  #packets = 0;
  #failed: GuardVerdict | undefined;
  // Parser state: 'type' expects a fixed-header byte, 'length' a Remaining Length byte, 'body' skips.
  #state: 'type' | 'length' | 'body' = 'type';
  #type = 0;
  #length = 0;
  #lengthBytes = 0;
  #bodyLeft = 0;

  constructor(limits: FrameLimits) {
    this.#limits = limits;
  }

  /** The broker accepted the login: lift the pre-authentication byte budget. */
  authenticated(): void {
    this.#authenticated = true;
  }

  /** Accounts `chunk`; once a verdict is not ok, every later call repeats it. */
  feed(chunk: Uint8Array): GuardVerdict {
    if (this.#failed) return this.#failed;
    if (!this.#authenticated) {
      this.#preAuthBytes += chunk.length;
      // CONNECT plus at most one pipelined packet may arrive before CONNACK.
      if (this.#preAuthBytes > this.#limits.maxConnectBytes + this.#limits.maxPacketBytes) {
        return this.#fail('PRE_AUTH_BYTES', 'too many bytes before the login completed');
      }
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const take = Math.min(this.#bodyLeft, chunk.length - i);
        this.#bodyLeft -= take;
        i += take;
        if (this.#bodyLeft === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === 'type') {
        this.#type = byte >> 4;
        if (this.#packets === 0 && this.#type !== CONNECT) {
          return this.#fail('FIRST_PACKET_NOT_CONNECT', 'the first packet must be CONNECT');
        }
        this.#state = 'length';
        this.#length = 0;
        this.#lengthBytes = 0;
        continue;
      }
      // Remaining Length: 7 bits per byte, little-endian groups, at most 4 bytes (§2.2.3).
      this.#length += (byte & 0x7f) * 128 ** this.#lengthBytes;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return this.#fail('MALFORMED_LENGTH', 'malformed Remaining Length');
        continue;
      }
      const verdict = this.#checkSize(1 + this.#lengthBytes + this.#length);
      if (!verdict.ok) return verdict;
      this.#packets++;
      this.#bodyLeft = this.#length;
      this.#state = this.#length > 0 ? 'body' : 'type';
    }
    return OK;
  }

  #checkSize(total: number): GuardVerdict {
    const connect = this.#packets === 0;
    const limit = connect ? this.#limits.maxConnectBytes : this.#limits.maxPacketBytes;
    if (total > limit) {
      return this.#fail(
        'PACKET_TOO_LARGE',
        `${connect ? 'CONNECT' : 'packet'} of ${total} bytes exceeds the ${limit}-byte limit`,
      );
    }
    return OK;
  }

  #fail(code: GuardViolation, message: string): GuardVerdict {
    this.#failed = { ok: false, code, message };
    return this.#failed;
  }
}
