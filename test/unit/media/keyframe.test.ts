import { describe, expect, it } from 'vitest';
import { isKeyframeStart } from '../../../media/keyframe.js';
import { fuzzRandom } from '../../helpers/random.js';

const b = (...bytes: number[]) => Uint8Array.from(bytes);

describe('isKeyframeStart', () => {
  it('recognises H.264 keyframe starts in single NAL, STAP-A and FU-A packets', () => {
    expect(isKeyframeStart('video/H264', b(0x67, 0x42))).toBe(true); // SPS
    expect(isKeyframeStart('video/H264', b(0x65, 0x88))).toBe(true); // IDR slice
    expect(isKeyframeStart('video/H264', b(0x41, 0x9a))).toBe(false); // non-IDR slice
    expect(isKeyframeStart('video/H264', b(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68))).toBe(true); // STAP-A: SPS, PPS
    expect(isKeyframeStart('video/H264', b(0x78, 0x00, 0x01, 0x06))).toBe(false); // STAP-A: SEI only
    expect(isKeyframeStart('video/H264', b(0x7c, 0x85, 0x00))).toBe(true); // FU-A start of IDR
    expect(isKeyframeStart('video/H264', b(0x7c, 0x05, 0x00))).toBe(false); // FU-A middle
    expect(isKeyframeStart('video/H264', b(0x7c, 0x81, 0x00))).toBe(false); // FU-A start of P slice
  });

  it('recognises VP8 key frames, with and without extensions', () => {
    expect(isKeyframeStart('video/VP8', b(0x10, 0x00))).toBe(true);
    expect(isKeyframeStart('video/VP8', b(0x10, 0x01))).toBe(false); // P=1: interframe
    expect(isKeyframeStart('video/VP8', b(0x00, 0x00))).toBe(false); // not a partition start
    expect(isKeyframeStart('video/VP8', b(0x90, 0x80, 0x81, 0x23, 0x00))).toBe(true); // X, I (15-bit picture id)
  });

  it('never throws on short or random payloads', () => {
    const random = fuzzRandom(27);
    for (let i = 0; i < 5000; i++) {
      const payload = Uint8Array.from(random.bytes(random.int(8)));
      expect(typeof isKeyframeStart(i % 2 ? 'video/H264' : 'video/VP8', payload)).toBe('boolean');
    }
    expect(isKeyframeStart('audio/opus', b(1, 2, 3))).toBe(false);
  });
});
