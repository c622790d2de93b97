import { HEADER_LENGTH, MAGIC_COOKIE } from './stun-message.js';

/**
 * Splits a TCP byte stream into STUN messages and ChannelData messages (RFC 8656 §5: over
 * TCP the client sends both on one connection; ChannelData is padded to 4 bytes there,
 * §12.5). The first two bits tell them apart (00: STUN, 01: ChannelData). Anything else
 * is a protocol error: the caller closes the connection.
 */
export class TcpFramer {
  #pending: Buffer = Buffer.alloc(0);

  /**
   * Appends `chunk`; returns the complete frames it finished, or `'error'` when the stream
   * cannot be STUN/TURN (the connection should be closed).
   */
  push(chunk: Buffer): Buffer[] | 'error' {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (this.#pending.length - offset >= 4) {
      const first = this.#pending[offset]!;
      const declared = this.#pending.readUInt16BE(offset + 2);
      let size: number;
      if ((first & 0xc0) === 0x00) {
        if (declared % 4 !== 0) return 'error';
        if (this.#pending.length - offset >= 8 && this.#pending.readUInt32BE(offset + 4) !== MAGIC_COOKIE) {
          return 'error';
        }
        size = HEADER_LENGTH + declared;
      } else if ((first & 0xc0) === 0x40) {
        size = 4 + ((declared + 3) & ~3);
      } else return 'error';
      if (this.#pending.length - offset < size) break;
      frames.push(this.#pending.subarray(offset, offset + size));
      offset += size;
    }
    this.#pending = offset === 0 ? this.#pending : this.#pending.subarray(offset);
    if (this.#pending.length === 0) this.#pending = Buffer.alloc(0);
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#pending.length;
  }
}
