import { type Cipher, createCipheriv, createHmac } from 'node:crypto';

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
 * AEAD_AES_128_GCM (RFC 7714). Node cannot restart a GCM cipher with a new IV, so each packet
 * needs its own cipher object; the IV is built in one reused buffer.
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
 * AES128_CM_HMAC_SHA1_80 (RFC 3711): the counter-mode keystream comes from one AES-ECB cipher
 * kept for the whole session (encrypting the counter blocks), so no cipher is created per
 * packet; the 80-bit tag is HMAC-SHA1 over header, encrypted payload and ROC (§4.2).
 */
class CtrHmacProtector implements SrtpProtector {
  readonly #ecb: Cipher;
  readonly #roc = Buffer.alloc(4);
  #counters = Buffer.alloc(0);

  constructor(
    key: Buffer,
    private readonly salt: Buffer,
    private readonly authKey: Buffer,
  ) {
    this.#ecb = createCipheriv('aes-128-ecb', key, null);
    this.#ecb.setAutoPadding(false);
  }

  protect(header: Buffer, payload: Buffer, ssrc: number, seq: number, roc: number): Buffer[] {
    const blocks = Math.ceil(payload.length / 16);
    if (this.#counters.length < blocks * 16) this.#counters = Buffer.alloc(blocks * 16 + 256);
    const counters = this.#counters;
    // RFC 3711 §4.1.1: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16); block j is IV + j.
    const s = this.salt;
    const w0 = s.readUInt32BE(0);
    const w1 = (s.readUInt32BE(4) ^ ssrc) >>> 0;
    const w2 = (s.readUInt32BE(8) ^ roc) >>> 0;
    const w3hi = (s.readUInt16BE(12) ^ seq) & 0xffff;
    for (let j = 0, o = 0; j < blocks; j++, o += 16) {
      counters.writeUInt32BE(w0, o);
      counters.writeUInt32BE(w1, o + 4);
      counters.writeUInt32BE(w2, o + 8);
      counters.writeUInt16BE(w3hi, o + 12);
      counters.writeUInt16BE(j, o + 14);
    }
    const keystream = this.#ecb.update(counters.subarray(0, blocks * 16));
    const encrypted = Buffer.allocUnsafe(payload.length);
    for (let i = 0; i < payload.length; i++) encrypted[i] = payload[i]! ^ keystream[i]!;
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
