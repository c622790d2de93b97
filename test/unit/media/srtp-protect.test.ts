import { describe, expect, it } from 'vitest';
import { RtpHeader } from 'werift';
import {
  createSrtpProtector,
  RolloverCounter,
  SRTP_AEAD_AES_128_GCM,
  SRTP_AES128_CM_HMAC_SHA1_80,
} from '../../../media/srtp-protect.js';
import { ntpFromUnixMs } from '../../../media/viewer-rtp-sender.js';
import { fuzzRandom } from '../../helpers/random.js';
import { srtpSessionPair } from '../../helpers/srtp-sessions.js';

describe('SRTP protection with ciphers kept across packets', () => {
  for (const [name, profile] of [
    ['AEAD_AES_128_GCM', SRTP_AEAD_AES_128_GCM],
    ['AES128_CM_HMAC_SHA1_80', SRTP_AES128_CM_HMAC_SHA1_80],
  ] as const) {
    it(`${name}: the same bytes as werift's encryptRtp, across a sequence number wrap, and werift decrypts them`, () => {
      const random = fuzzRandom(0x5e7b);
      const { sender, receiver } = srtpSessionPair(random, profile);
      const ctx = sender.localContext;
      const protector = createSrtpProtector({
        profile,
        key: ctx.srtpSessionKey,
        salt: ctx.srtpSessionSalt,
        authKey: ctx.srtpSessionAuthTag,
      });
      const roc = new RolloverCounter();
      const ssrc = random.int(0x1_0000_0000);
      let seq = 0xffff - random.int(40);
      for (let i = 0; i < 80; i++) {
        // Any length (beyond one keystream call too), at any alignment (payloads are slices of datagrams).
        const payload = random.bytes(2 + random.int(i % 10 === 0 ? 4000 : 1300)).subarray(1);
        const header = new RtpHeader({
          payloadType: 96,
          marker: random.chance(0.1),
          sequenceNumber: seq,
          timestamp: random.int(0x1_0000_0000),
          ssrc,
        });
        const expected = sender.encrypt(payload, header);
        const ours = Buffer.concat(
          protector.protect(header.serialize(12), payload, ssrc, seq, roc.next(seq)),
        );
        expect(ours.equals(expected), `packet ${i} (seq ${seq})`).toBe(true);
        const decrypted = receiver.decrypt(ours);
        expect(decrypted.subarray(12).equals(payload)).toBe(true);
        seq = (seq + 1) & 0xffff;
      }
    });
  }

  it('never modifies the payload it protects (one camera payload serves every viewer)', () => {
    const random = fuzzRandom(0xfa11);
    const payload = random.bytes(1200);
    const copy = Buffer.from(payload);
    for (const profile of [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80]) {
      const p = createSrtpProtector({
        profile,
        key: random.bytes(16),
        salt: random.bytes(14),
        authKey: random.bytes(20),
      });
      p.protect(random.bytes(12), payload, 1, 2, 0);
    }
    expect(payload.equals(copy)).toBe(true);
  });

  it('refuses a profile it does not implement', () => {
    expect(() => createSrtpProtector({ profile: 2, key: Buffer.alloc(16), salt: Buffer.alloc(14) })).toThrow(
      /unsupported SRTP profile/,
    );
  });
});

describe('RolloverCounter (RFC 3711 §3.3.1)', () => {
  it('counts wraps of the sequence number, and gives a late packet from before a wrap the previous ROC', () => {
    const roc = new RolloverCounter();
    expect(roc.next(65_534)).toBe(0);
    expect(roc.next(65_535)).toBe(0);
    expect(roc.next(0)).toBe(1);
    expect(roc.next(65_533)).toBe(0); // reordered: sent before the wrap
    expect(roc.next(1)).toBe(1);
    expect(roc.next(0)).toBe(1); // reordered, after the wrap
    for (let seq = 2; seq <= 65_535; seq++) roc.next(seq);
    expect(roc.next(0)).toBe(2);
  });
});

describe('ntpFromUnixMs (RFC 3550 §4: seconds since 1900, 32-bit fraction)', () => {
  it('puts seconds since 1900 in the high word and the fraction of a second in the low word', () => {
    const ntp = ntpFromUnixMs(Date.UTC(2026, 0, 1) + 250);
    expect(Number(ntp >> 32n)).toBe(Date.UTC(2026, 0, 1) / 1000 + 2_208_988_800);
    expect(Number(ntp & 0xffff_ffffn)).toBe(0x4000_0000);
  });
});
