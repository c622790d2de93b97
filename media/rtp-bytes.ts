/** An RTP packet read from its bytes (RFC 3550 §5.1), without copying: `payload` is a view. */
export interface TapPacket {
  /** The whole datagram, as sent by the camera (its payload types, SSRC and extensions). */
  bytes: Buffer;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  payload: Buffer;
}

/**
 * Parses one RTP datagram; undefined when it is not one (wrong version, header longer than
 * the datagram, bad padding). Pure.
 */
export function parseRtp(bytes: Buffer): TapPacket | undefined {
  if (bytes.length < 12 || bytes[0]! >> 6 !== 2) return undefined;
  const padding = (bytes[0]! & 0x20) !== 0;
  const extension = (bytes[0]! & 0x10) !== 0;
  const csrcCount = bytes[0]! & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (extension) {
    if (bytes.length < offset + 4) return undefined;
    offset += 4 + 4 * bytes.readUInt16BE(offset + 2);
  }
  let end = bytes.length;
  if (padding) {
    if (end === 0) return undefined;
    end -= bytes[end - 1]!;
  }
  if (offset > end) return undefined;
  return {
    bytes,
    payloadType: bytes[1]! & 0x7f,
    sequenceNumber: bytes.readUInt16BE(2),
    timestamp: bytes.readUInt32BE(4),
    payload: bytes.subarray(offset, end),
  };
}
