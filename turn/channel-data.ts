/**
 * ChannelData messages (RFC 8656 §12.4): 2-byte channel number, 2-byte length, application
 * data. Over TCP the message is padded to a multiple of 4 (§12.5); over UDP padding is
 * optional and ignored.
 */

export const MIN_CHANNEL = 0x4000;
/**
 * RFC 8656 narrowed channels to 0x4000-0x4FFF; RFC 5766 allowed up to 0x7FFE and clients
 * still use it (coturn's turnutils_uclient picks e.g. 0x56D9), so we accept the old range,
 * as coturn does. All of it demultiplexes as ChannelData (first bits 01).
 */
export const MAX_CHANNEL = 0x7ffe;

/** True when the first two bits are 0b01: a ChannelData message, not STUN (RFC 7983 demux). */
export function looksLikeChannelData(buf: Buffer): boolean {
  return buf.length >= 4 && (buf[0]! & 0xc0) === 0x40;
}

export function isValidChannel(channel: number): boolean {
  return channel >= MIN_CHANNEL && channel <= MAX_CHANNEL;
}

/** The channel and its data, or undefined when the length field runs past the buffer. */
export function decodeChannelData(buf: Buffer): { channel: number; data: Buffer } | undefined {
  if (!looksLikeChannelData(buf)) return undefined;
  const length = buf.readUInt16BE(2);
  if (4 + length > buf.length) return undefined;
  return { channel: buf.readUInt16BE(0), data: buf.subarray(4, 4 + length) };
}

export function encodeChannelData(channel: number, data: Buffer, padded: boolean): Buffer {
  const size = 4 + (padded ? (data.length + 3) & ~3 : data.length);
  // From Buffer's shared pool (no backing store of its own per packet); every byte is written
  // below, the padding zeroed, so nothing stale from the pool goes out.
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt16BE(channel, 0);
  buf.writeUInt16BE(data.length, 2);
  data.copy(buf, 4);
  if (size > 4 + data.length) buf.fill(0, 4 + data.length);
  return buf;
}
