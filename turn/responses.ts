import { encodeErrorCode, encodeUnknownAttributes } from './attributes.js';
import { Attr, StunClass, type StunMessage, StunWriter } from './stun-message.js';

/**
 * Response builders. Every response carries FINGERPRINT; responses to authenticated
 * requests carry MESSAGE-INTEGRITY under the request's key (RFC 8489 §9.2.4, RFC 8656 §7.2).
 */

export function success(request: StunMessage, key?: Buffer, build?: (writer: StunWriter) => void): Buffer {
  const writer = new StunWriter(request.method, StunClass.success, request.transactionId);
  build?.(writer);
  return writer.encode(key ? { integrityKey: key } : {});
}

export interface ErrorOptions {
  /** MESSAGE-INTEGRITY key: set once the request has been authenticated. */
  key?: Buffer;
  /** 401/438: REALM and a fresh NONCE so the client can (re)try. */
  challenge?: { realm: string; nonce: string };
  /** 420: the comprehension-required attributes not understood. */
  unknown?: number[];
}

export function failure(
  request: StunMessage,
  code: number,
  reason: string,
  options: ErrorOptions = {},
): Buffer {
  const writer = new StunWriter(request.method, StunClass.error, request.transactionId);
  writer.add(Attr.errorCode, encodeErrorCode(code, reason));
  if (options.unknown?.length) writer.add(Attr.unknownAttributes, encodeUnknownAttributes(options.unknown));
  if (options.challenge) {
    writer.add(Attr.realm, Buffer.from(options.challenge.realm, 'utf8'));
    writer.add(Attr.nonce, Buffer.from(options.challenge.nonce, 'utf8'));
  }
  return writer.encode(options.key ? { integrityKey: options.key } : {});
}

/** Reason phrases of the error codes the server sends (RFC 8489 §14.8, RFC 8656 §19). */
export const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};
