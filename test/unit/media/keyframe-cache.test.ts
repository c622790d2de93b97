import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { isKeyframeStart } from '../../../media/keyframe.js';
import { KeyframeCache } from '../../../media/keyframe-cache.js';
import { fuzzRandom } from '../../helpers/random.js';

const H264 = 'video/H264';
const SPS = [0x67, 0x42, 0xe0, 0x1f];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR_FU_START = [0x7c, 0x85, 0x88];
const FU_MIDDLE = [0x7c, 0x05, 0x11];
const P_SLICE = [0x41, 0x9a, 0x22];

function rtp(sequenceNumber: number, timestamp: number, payload: number[], ssrc = 1): RtpPacket {
  return new RtpPacket(
    new RtpHeader({ sequenceNumber, timestamp, ssrc, payloadType: 102 }),
    Buffer.from(payload),
  );
}

/** A keyframe as cameras send it: SPS, PPS and the IDR's fragments, one RTP timestamp. */
function keyframe(seq: number, ts: number, ssrc = 1): RtpPacket[] {
  return [SPS, PPS, IDR_FU_START, FU_MIDDLE].map((payload, i) => rtp((seq + i) & 0xffff, ts, payload, ssrc));
}

const seqs = (cache: KeyframeCache) => cache.burst()?.packets.map((p) => p.header.sequenceNumber);

describe('KeyframeCache', () => {
  it('keeps nothing before the first keyframe, then everything from its first packet (SPS, PPS, IDR share one timestamp)', () => {
    const cache = new KeyframeCache();
    cache.push(H264, rtp(1, 100, P_SLICE));
    expect(cache.burst()).toBeUndefined();
    for (const p of keyframe(2, 200)) cache.push(H264, p);
    cache.push(H264, rtp(6, 300, P_SLICE));
    expect(seqs(cache)).toEqual([2, 3, 4, 5, 6]);
    expect(cache.burst()!.mimeType).toBe(H264);
    expect(cache.burst()!.bytes).toBe(5 * 12 + 4 + 4 + 3 + 3 + 3);
  });

  it('starts over at each new keyframe', () => {
    const cache = new KeyframeCache();
    for (const p of keyframe(1, 100)) cache.push(H264, p);
    cache.push(H264, rtp(5, 200, P_SLICE));
    for (const p of keyframe(6, 300)) cache.push(H264, p);
    cache.push(H264, rtp(10, 400, P_SLICE));
    expect(seqs(cache)).toEqual([6, 7, 8, 9, 10]);
  });

  it('an IDR in a STAP-A or a lone IDR fragment after the SPS of the same frame does not restart it', () => {
    const cache = new KeyframeCache();
    cache.push(H264, rtp(1, 100, [0x78, 0x00, 0x04, ...SPS, 0x00, 0x04, ...PPS]));
    cache.push(H264, rtp(2, 100, [0x65, 0x88])); // IDR as a single NAL unit
    cache.push(H264, rtp(3, 100, [0x65, 0x88])); // a second slice of the same IDR
    expect(seqs(cache)).toEqual([1, 2, 3]);
  });

  it('a new SSRC or codec without its keyframe empties the cache; its keyframe starts it again', () => {
    const cache = new KeyframeCache();
    for (const p of keyframe(1, 100)) cache.push(H264, p);
    cache.push(H264, rtp(500, 700, P_SLICE, 2));
    expect(cache.burst()).toBeUndefined();
    cache.push(H264, rtp(501, 800, P_SLICE, 2));
    expect(cache.burst()).toBeUndefined();
    for (const p of keyframe(502, 900, 2)) cache.push(H264, p);
    expect(seqs(cache)).toEqual([502, 503, 504, 505]);
    cache.push('video/VP8', rtp(506, 1000, [0x10, 0x01], 2)); // VP8 interframe
    expect(cache.burst()).toBeUndefined();
  });

  it('a keyframe with the same timestamp but another SSRC is a new keyframe', () => {
    const cache = new KeyframeCache();
    for (const p of keyframe(1, 100)) cache.push(H264, p);
    for (const p of keyframe(40, 100, 7)) cache.push(H264, p);
    expect(cache.burst()!.packets.every((p) => p.header.ssrc === 7)).toBe(true);
    expect(seqs(cache)).toEqual([40, 41, 42, 43]);
  });

  it('drops a packet reordered from before the keyframe (sequence numbers wrap)', () => {
    const cache = new KeyframeCache();
    for (const p of keyframe(0xfffe, 100)) cache.push(H264, p);
    cache.push(H264, rtp(0xfffd, 50, P_SLICE));
    cache.push(H264, rtp(2, 200, P_SLICE));
    expect(seqs(cache)).toEqual([0xfffe, 0xffff, 0, 1, 2]);
  });

  it('a GOP over maxBytes is dropped whole, until the next keyframe', () => {
    const cache = new KeyframeCache({ maxBytes: 100, maxAgeMs: 60_000 });
    for (const p of keyframe(1, 100)) cache.push(H264, p); // 62 bytes
    cache.push(H264, rtp(5, 200, P_SLICE)); // 77
    expect(cache.bytes).toBe(77);
    cache.push(H264, rtp(6, 300, [...P_SLICE, ...new Array(20).fill(0)])); // 112 > 100
    expect(cache.burst()).toBeUndefined();
    expect(cache.bytes).toBe(0);
    cache.push(H264, rtp(7, 400, P_SLICE));
    expect(cache.burst()).toBeUndefined();
    for (const p of keyframe(8, 500)) cache.push(H264, p);
    expect(seqs(cache)).toEqual([8, 9, 10, 11]);
  });

  it('does not serve a keyframe older than maxAgeMs', () => {
    let now = 0;
    const cache = new KeyframeCache({ maxBytes: 1e6, maxAgeMs: 10_000 }, () => now);
    for (const p of keyframe(1, 100)) cache.push(H264, p);
    now = 10_000;
    expect(cache.burst()).toBeDefined();
    now = 10_001;
    cache.push(H264, rtp(5, 200, P_SLICE));
    expect(cache.burst()).toBeUndefined();
    expect(cache.bytes).toBe(0);
    for (const p of keyframe(6, 300)) cache.push(H264, p);
    expect(seqs(cache)).toEqual([6, 7, 8, 9]);
  });

  it('a burst is a copy: later packets do not change it', () => {
    const cache = new KeyframeCache();
    for (const p of keyframe(1, 100)) cache.push(H264, p);
    const burst = cache.burst()!;
    cache.push(H264, rtp(5, 200, P_SLICE));
    expect(burst.packets).toHaveLength(4);
  });

  it('fuzzed: always bounded, and a burst always starts at a keyframe of one SSRC and codec', () => {
    const random = fuzzRandom(2026);
    let now = 0;
    const cache = new KeyframeCache({ maxBytes: 2000, maxAgeMs: 5000 }, () => now);
    const payloads = [SPS, PPS, IDR_FU_START, FU_MIDDLE, P_SLICE, [0x10, 0x00], [0x10, 0x01]];
    for (let i = 0; i < 20_000; i++) {
      now += random.int(50);
      const payload = random.chance(0.1)
        ? [...random.bytes(random.int(300))]
        : [...random.pick(payloads), ...random.bytes(random.int(200))];
      cache.push(
        random.chance(0.95) ? H264 : 'video/VP8',
        rtp(random.int(0x10000), random.int(4) * 3000, payload, random.chance(0.97) ? 1 : 2),
      );
      expect(cache.bytes).toBeLessThanOrEqual(2000);
      const burst = cache.burst();
      if (!burst) continue;
      const first = burst.packets[0]!;
      expect(isKeyframeStart(burst.mimeType, first.payload)).toBe(true);
      expect(new Set(burst.packets.map((p) => p.header.ssrc)).size).toBe(1);
    }
  });
});
