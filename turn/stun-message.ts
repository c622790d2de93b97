import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * STUN message codec (RFC 8489 §5, §14): header, TLV attributes, MESSAGE-INTEGRITY (HMAC-SHA1)
 * and FINGERPRINT. Pure: no sockets, no clock. `decodeStun` never throws; it returns undefined
 * for anything that is not a well-formed STUN message.
 */

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;
const FINGERPRINT_XOR = 0x5354554e;

export const StunClass = { request: 0, indication: 1, success: 2, error: 3 } as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

export const StunMethod = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;

export const Attr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  evenPort: 0x0018,
  requestedTransport: 0x0019,
  dontFragment: 0x001a,
  messageIntegritySha256: 0x001c,
  xorMappedAddress: 0x0020,
  reservationToken: 0x0022,
  software: 0x8022,
  fingerprint: 0x8028,
} as const;

export interface StunAttribute {
  type: number;
  value: Buffer;
  /** Offset of the attribute's header in the message (for MESSAGE-INTEGRITY). */
  offset: number;
}

export interface StunMessage {
  method: number;
  cls: StunClass;
  transactionId: Buffer;
  /** Attributes in order, up to and including MESSAGE-INTEGRITY and FINGERPRINT. */
  attributes: StunAttribute[];
  /** The whole encoded message (for integrity checks). */
  raw: Buffer;
}

/** True when the first bytes look like a STUN header (two zero bits and the magic cookie). */
export function looksLikeStun(buf: Buffer): boolean {
  return buf.length >= HEADER_LENGTH && (buf[0]! & 0xc0) === 0 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/** Parses one STUN message occupying all of `buf`; undefined when malformed (RFC 8489 §6.3). */
export function decodeStun(buf: Buffer): StunMessage | undefined {
  if (!looksLikeStun(buf)) return undefined;
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || length + HEADER_LENGTH !== buf.length) return undefined;
  const type = buf.readUInt16BE(0);
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass;
  const attributes: StunAttribute[] = [];
  let offset = HEADER_LENGTH;
  let sawIntegrity = false;
  while (offset < buf.length) {
    if (offset + 4 > buf.length) return undefined;
    const attrType = buf.readUInt16BE(offset);
    const attrLength = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + attrLength;
    if (end > buf.length) return undefined;
    const attribute = { type: attrType, value: buf.subarray(offset + 4, end), offset };
    const padded = offset + 4 + pad4(attrLength);
    if (padded > buf.length) return undefined;
    if (attrType === Attr.fingerprint) {
      // RFC 8489 §14.7: FINGERPRINT is the last attribute.
      if (attrLength !== 4 || padded !== buf.length) return undefined;
      attributes.push(attribute);
    } else if (!sawIntegrity) {
      // RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored.
      attributes.push(attribute);
      if (attrType === Attr.messageIntegrity) sawIntegrity = true;
    }
    offset = padded;
  }
  const fingerprint = attributes.at(-1);
  if (
    fingerprint?.type === Attr.fingerprint &&
    fingerprint.value.readUInt32BE(0) !== computeFingerprint(buf, fingerprint.offset)
  ) {
    return undefined;
  }
  return { method, cls, transactionId: buf.subarray(8, 20), attributes, raw: buf };
}

/** The first attribute of `type`, if any. */
export function getAttribute(message: StunMessage, type: number): Buffer | undefined {
  return message.attributes.find((a) => a.type === type)?.value;
}

/** True when the message carries a MESSAGE-INTEGRITY that verifies under `key` (RFC 8489 §14.5). */
export function verifyIntegrity(message: StunMessage, key: Buffer): boolean {
  const attribute = message.attributes.find((a) => a.type === Attr.messageIntegrity);
  if (attribute?.value.length !== 20) return false;
  const expected = computeIntegrity(message.raw, attribute.offset, key);
  // In constant time: Buffer.equals stops at the first wrong byte, and how soon it answers
  // tells a forger how much of a guessed HMAC is right. timingSafeEqual needs equal lengths.
  return expected.length === attribute.value.length && timingSafeEqual(expected, attribute.value);
}

/** Builds a message; `encode()` appends MESSAGE-INTEGRITY (when a key is given) and FINGERPRINT. */
export class StunWriter {
  readonly #parts: Buffer[] = [];
  #length = 0;

  constructor(
    readonly method: number,
    readonly cls: StunClass,
    readonly transactionId: Buffer,
  ) {}

  add(type: number, value: Buffer): this {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(type, 0);
    header.writeUInt16BE(value.length, 2);
    const padding = Buffer.alloc(pad4(value.length) - value.length);
    this.#parts.push(header, value, padding);
    this.#length += 4 + value.length + padding.length;
    return this;
  }

  encode(options: { integrityKey?: Buffer; fingerprint?: boolean } = {}): Buffer {
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt16BE(encodeType(this.method, this.cls), 0);
    header.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(header, 8, 0, 12);
    let buf = Buffer.concat([header, ...this.#parts]);
    buf.writeUInt16BE(this.#length, 2);
    if (options.integrityKey) {
      const offset = buf.length;
      buf = Buffer.concat([buf, Buffer.from([0x00, 0x08, 0x00, 0x14]), Buffer.alloc(20)]);
      buf.writeUInt16BE(buf.length - HEADER_LENGTH, 2);
      computeIntegrity(buf, offset, options.integrityKey).copy(buf, offset + 4);
    }
    if (options.fingerprint !== false) {
      const offset = buf.length;
      buf = Buffer.concat([buf, Buffer.from([0x80, 0x28, 0x00, 0x04]), Buffer.alloc(4)]);
      buf.writeUInt16BE(buf.length - HEADER_LENGTH, 2);
      buf.writeUInt32BE(computeFingerprint(buf, offset), offset + 4);
    }
    return buf;
  }
}

export function encodeType(method: number, cls: StunClass): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 0x1) << 4) |
    ((cls & 0x2) << 7)
  );
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** HMAC-SHA1 over the message up to `offset`, with the header length covering the MI attribute. */
function computeIntegrity(buf: Buffer, offset: number, key: Buffer): Buffer {
  const header = Buffer.from(buf.subarray(0, HEADER_LENGTH));
  header.writeUInt16BE(offset + 24 - HEADER_LENGTH, 2);
  return createHmac('sha1', key).update(header).update(buf.subarray(HEADER_LENGTH, offset)).digest();
}

/** CRC-32 of the message up to `offset`, header length covering FINGERPRINT, XOR 0x5354554e. */
function computeFingerprint(buf: Buffer, offset: number): number {
  const header = Buffer.from(buf.subarray(0, HEADER_LENGTH));
  header.writeUInt16BE(offset + 8 - HEADER_LENGTH, 2);
  const crc = crc32(buf.subarray(HEADER_LENGTH, offset), crc32(header));
  return (crc ^ FINGERPRINT_XOR) >>> 0;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC); zlib.crc32 only exists from Node 20.15. */
function crc32(data: Buffer, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
