import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Attr, getAttribute, MAGIC_COOKIE, type StunMessage } from './stun-message.js';

/**
 * Typed readers and writers for the STUN/TURN attributes the server uses (RFC 8489 §14,
 * RFC 8656 §18). Readers throw `StunAttributeError` on a malformed value; the request
 * dispatcher turns that into 400 Bad Request.
 */

export class StunAttributeError extends Error {}

export interface TransportAddress {
  family: 4 | 6;
  ip: string;
  port: number;
}

/** Family codes of the address attributes and REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.8). */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;

export const TRANSPORT_UDP = 17;

export function encodeXorAddress(address: { ip: string; port: number }, transactionId: Buffer): Buffer {
  const v6 = isIPv6(address.ip);
  const bytes = Buffer.from(ipaddr.parse(address.ip).toByteArray());
  const buf = Buffer.alloc(4 + bytes.length);
  buf[1] = v6 ? FAMILY_IPV6 : FAMILY_IPV4;
  buf.writeUInt16BE(address.port ^ (MAGIC_COOKIE >>> 16), 2);
  const mask = xorMask(transactionId);
  for (let i = 0; i < bytes.length; i++) buf[4 + i] = bytes[i]! ^ mask[i]!;
  return buf;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress {
  const family = value[1];
  const size = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) throw new StunAttributeError('bad address attribute');
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const mask = xorMask(transactionId);
  const bytes = Array.from({ length: size }, (_, i) => value[4 + i]! ^ mask[i]!);
  const ip = ipaddr.fromByteArray(bytes).toString();
  return { family: size === 4 ? 4 : 6, ip, port };
}

/** Plain MAPPED-ADDRESS (RFC 8489 §14.1), for RFC 3489 clients. */
export function encodeMappedAddress(address: { ip: string; port: number }): Buffer {
  const bytes = Buffer.from(ipaddr.parse(address.ip).toByteArray());
  const buf = Buffer.alloc(4 + bytes.length);
  buf[1] = isIPv4(address.ip) ? FAMILY_IPV4 : FAMILY_IPV6;
  buf.writeUInt16BE(address.port, 2);
  bytes.copy(buf, 4);
  return buf;
}

function xorMask(transactionId: Buffer): Buffer {
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4, 0, 12);
  return mask;
}

export function encodeErrorCode(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const buf = Buffer.alloc(4 + text.length);
  buf[2] = Math.floor(code / 100);
  buf[3] = code % 100;
  text.copy(buf, 4);
  return buf;
}

export function decodeErrorCode(value: Buffer): { code: number; reason: string } {
  if (value.length < 4) throw new StunAttributeError('bad ERROR-CODE');
  return { code: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString('utf8') };
}

export function encodeUint32(n: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(n >>> 0, 0);
  return buf;
}

/** CHANNEL-NUMBER: 16-bit number then RFFU (RFC 8656 §18.1). */
export function encodeChannelNumber(channel: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(channel, 0);
  return buf;
}

export function encodeUnknownAttributes(types: number[]): Buffer {
  const buf = Buffer.alloc(types.length * 2);
  for (const [i, t] of types.entries()) buf.writeUInt16BE(t, i * 2);
  return buf;
}

// ---- request readers -------------------------------------------------------------------

export function readUint32(message: StunMessage, type: number): number | undefined {
  const value = getAttribute(message, type);
  if (value === undefined) return undefined;
  if (value.length !== 4) throw new StunAttributeError(`attribute 0x${type.toString(16)} must be 4 bytes`);
  return value.readUInt32BE(0);
}

export function readString(message: StunMessage, type: number, maxBytes: number): string | undefined {
  const value = getAttribute(message, type);
  if (value === undefined) return undefined;
  if (value.length > maxBytes) throw new StunAttributeError(`attribute 0x${type.toString(16)} too long`);
  return value.toString('utf8');
}

export function readChannelNumber(message: StunMessage): number | undefined {
  const value = getAttribute(message, Attr.channelNumber);
  if (value === undefined) return undefined;
  if (value.length !== 4) throw new StunAttributeError('bad CHANNEL-NUMBER');
  return value.readUInt16BE(0);
}

/** Protocol number of REQUESTED-TRANSPORT (RFC 8656 §18.7). */
export function readRequestedTransport(message: StunMessage): number | undefined {
  const value = getAttribute(message, Attr.requestedTransport);
  if (value === undefined) return undefined;
  if (value.length !== 4) throw new StunAttributeError('bad REQUESTED-TRANSPORT');
  return value[0]!;
}

/** Family byte of REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.8). */
export function readRequestedFamily(message: StunMessage): number | undefined {
  const value = getAttribute(message, Attr.requestedAddressFamily);
  if (value === undefined) return undefined;
  if (value.length !== 4) throw new StunAttributeError('bad REQUESTED-ADDRESS-FAMILY');
  return value[0]!;
}

/** EVEN-PORT: present or not, and its R (reserve next port) bit (RFC 8656 §18.6). */
export function readEvenPort(message: StunMessage): { reserve: boolean } | undefined {
  const value = getAttribute(message, Attr.evenPort);
  if (value === undefined) return undefined;
  if (value.length < 1) throw new StunAttributeError('bad EVEN-PORT');
  return { reserve: (value[0]! & 0x80) !== 0 };
}

/** Every XOR-PEER-ADDRESS of the request (CreatePermission may carry several). */
export function readPeerAddresses(message: StunMessage): TransportAddress[] {
  return message.attributes
    .filter((a) => a.type === Attr.xorPeerAddress)
    .map((a) => decodeXorAddress(a.value, message.transactionId));
}
