import { createCipheriv, createHmac } from 'node:crypto';

/** The two SRTP protection profiles werift negotiates (RFC 5764 §4.1.2 / RFC 7714 §14.2 numbers). */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 1;
export const SRTP_AEAD_AES_128_GCM = 7;

/** Session keys of one direction (already derived from the DTLS master keys, RFC 3711 §4.3). */
export interface SrtpSessionKeys {
  profile: number;
  /** 16-byte AES session key. */
  key: Buffer;
  /** Session salt (14 bytes for AES-CM; the first 12 are used by AES-GCM). */
  salt: Buffer;
  /** 20-byte HMAC-SHA1 key (AES-CM profile only). */
  authKey?: Buffer | undefined;
}

/**
 * Encrypts outgoing RTP packets of one SRTP session. `protect` returns the SRTP packet as the
 * pieces it is made of (header, encrypted payload, tag), to be sent with one scatter-gather
 * `sendmsg` rather than concatenated. The payload is never modified, so one camera packet's
 * payload can be protected for many viewers.
 */
export interface SrtpProtector {
  /** `header`: the serialized RTP header (authenticated, not encrypted). `roc`: rollover counter of `seq`. */
  protect(header: Buffer, payload: Buffer, ssrc: number, seq: number, roc: number): Buffer[];
}

export function createSrtpProtector(keys: SrtpSessionKeys): SrtpProtector {
  if (keys.profile === SRTP_AEAD_AES_128_GCM) return new GcmProtector(keys.key, keys.salt);
  if (keys.profile === SRTP_AES128_CM_HMAC_SHA1_80 && keys.authKey) {
    return new CtrHmacProtector(keys.key, keys.salt, keys.authKey);
  }
  throw new Error(`unsupported SRTP profile ${keys.profile}`);
}

/**
 * AEAD_AES_128_GCM (RFC 7714), what werift negotiates first (with werift and Chromium viewers
 * alike). Node cannot restart a GCM cipher with a new IV, so each packet needs its own cipher
 * object (about 5 µs for 1200 bytes, measured); the IV is built in one reused buffer.
 */
class GcmProtector implements SrtpProtector {
  readonly #iv = Buffer.alloc(12);

  constructor(
    private readonly key: Buffer,
    private readonly salt: Buffer,
  ) {}

  protect(header: Buffer, payload: Buffer, ssrc: number, seq: number, roc: number): Buffer[] {
    // RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt.
    const iv = this.#iv;
    const s = this.salt;
    iv[0] = s[0]!;
    iv[1] = s[1]!;
    iv.writeUInt32BE((ssrc ^ s.readUInt32BE(2)) >>> 0, 2);
    iv.writeUInt32BE((roc ^ s.readUInt32BE(6)) >>> 0, 6);
    iv.writeUInt16BE((seq ^ s.readUInt16BE(10)) & 0xffff, 10);
    const cipher = createCipheriv('aes-128-gcm', this.key, iv);
    cipher.setAAD(header);
    const encrypted = cipher.update(payload);
    cipher.final();
    return [header, encrypted, cipher.getAuthTag()];
  }
}

/**
 * AES128_CM_HMAC_SHA1_80 (RFC 3711): AES in counter mode, then an 80-bit HMAC-SHA1 tag over
 * header, encrypted payload and ROC (§4.2). A counter-mode keystream from one AES-ECB cipher
 * kept for the session was measured slower than a new native AES-CTR cipher per packet (the
 * counter blocks and the XOR are JavaScript loops), so each packet gets its own cipher.
 */
class CtrHmacProtector implements SrtpProtector {
  readonly #iv = Buffer.alloc(16);
  readonly #roc = Buffer.alloc(4);

  constructor(
    private readonly key: Buffer,
    private readonly salt: Buffer,
    private readonly authKey: Buffer,
  ) {}

  protect(header: Buffer, payload: Buffer, ssrc: number, seq: number, roc: number): Buffer[] {
    // RFC 3711 §4.1.1: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
    const iv = this.#iv;
    const s = this.salt;
    iv.writeUInt32BE(s.readUInt32BE(0), 0);
    iv.writeUInt32BE((s.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    iv.writeUInt32BE((s.readUInt32BE(8) ^ roc) >>> 0, 8);
    iv.writeUInt16BE((s.readUInt16BE(12) ^ seq) & 0xffff, 12);
    const encrypted = createCipheriv('aes-128-ctr', this.key, iv).update(payload);
    this.#roc.writeUInt32BE(roc >>> 0);
    const tag = createHmac('sha1', this.authKey)
      .update(header)
      .update(encrypted)
      .update(this.#roc)
      .digest()
      .subarray(0, 10);
    return [header, encrypted, tag];
  }
}

/**
 * Rollover counter of an SRTP stream we send (RFC 3711 §3.3.1): counts wraps of the 16-bit
 * sequence number; a packet just before a wrap sent after it (a retransmission) gets the
 * previous ROC.
 */
export class RolloverCounter {
  #roc = 0;
  #last: number | undefined;

  /** ROC of `seq`, advancing the counter when `seq` is a newer packet across a wrap. */
  next(seq: number): number {
    if (this.#last === undefined) {
      this.#last = seq;
      return this.#roc;
    }
    const delta = ((seq - this.#last + 0x8000) & 0xffff) - 0x8000;
    if (delta > 0) {
      if (seq < this.#last) this.#roc = (this.#roc + 1) >>> 0;
      this.#last = seq;
      return this.#roc;
    }
    // Older than the newest: if it is from before the last wrap, it belongs to the previous ROC.
    return seq > this.#last && this.#roc > 0 ? this.#roc - 1 : this.#roc;
  }
}
