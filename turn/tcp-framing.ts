import { HEADER_LENGTH, MAGIC_COOKIE } from './stun-message.js';

/**
 * Splits a TCP byte stream into STUN messages and ChannelData messages (RFC 8656 §5: over
 * TCP the client sends both on one connection; ChannelData is padded to 4 bytes there,
 * §12.5). The first two bits tell them apart (00: STUN, 01: ChannelData). Anything else
 * is a protocol error: the caller closes the connection.
 *
 * Chunks of an incomplete frame are kept apart and joined once the frame's declared size
 * is there: joining on every chunk copied a 64 KB frame sent a byte at a time some 2 GB.
 */
export class TcpFramer {
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes needed before parsing can get further: a header (4, or 8 to see the cookie) or a frame. */
  #needed = 4;

  /**
   * Appends `chunk`; returns the complete frames it finished, or `'error'` when the stream
   * cannot be STUN/TURN (the connection should be closed).
   */
  push(chunk: Buffer): Buffer[] | 'error' {
    if (chunk.length === 0) return [];
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#length < this.#needed) return [];
    const pending = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#length);
    const frames: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const size = frameSize(pending, offset);
      if (size === 'error') return 'error';
      if (pending.length - offset < size) {
        this.#needed = size;
        break;
      }
      frames.push(pending.subarray(offset, offset + size));
      offset += size;
    }
    const rest = pending.subarray(offset);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#length = rest.length;
    return frames;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#length;
  }
}

/**
 * The size of the frame at `offset` once its header is there; before that, the header bytes
 * needed to know it (4, or 8 for a STUN magic cookie). `'error'` when the bytes there cannot
 * start a STUN or ChannelData message.
 */
function frameSize(buf: Buffer, offset: number): number | 'error' {
  const available = buf.length - offset;
  if (available < 4) return 4;
  const first = buf[offset]!;
  const declared = buf.readUInt16BE(offset + 2);
  if ((first & 0xc0) === 0x40) return 4 + ((declared + 3) & ~3);
  if ((first & 0xc0) !== 0x00 || declared % 4 !== 0) return 'error';
  if (available < 8) return 8;
  if (buf.readUInt32BE(offset + 4) !== MAGIC_COOKIE) return 'error';
  return HEADER_LENGTH + declared;
}
