import { describe, expect, it } from 'vitest';
import { H264KeyframeAssembler, type H264Packet } from '../../../media/h264-keyframe.js';
import { KeyframeStore } from '../../../media/keyframe-store.js';
import { fuzzRandom } from '../../helpers/random.js';

const SPS = [0x67, 0x42, 0xe0, 0x1f];
const PPS = [0x68, 0xce, 0x3c, 0x80];
const IDR = [0x65, 0x88, 0x84, 0x00, 0x11];
const P_SLICE = [0x41, 0x9a, 0x22];
const SEI = [0x06, 0x05, 0x01];

const packet = (
  sequenceNumber: number,
  timestamp: number,
  payload: number[],
  marker = false,
): H264Packet => ({
  sequenceNumber: sequenceNumber & 0xffff,
  timestamp,
  marker,
  payload: Uint8Array.from(payload),
});
const annexB = (...nals: number[][]) => Uint8Array.from(nals.flatMap((n) => [0, 0, 0, 1, ...n]));
/** An NAL unit cut into FU-A fragments of `size` bytes of its body. */
function fuA(nal: number[], size: number): number[][] {
  const indicator = (nal[0]! & 0xe0) | 28;
  const body = nal.slice(1);
  const parts: number[][] = [];
  for (let i = 0; i < body.length; i += size) {
    const start = i === 0 ? 0x80 : 0;
    const end = i + size >= body.length ? 0x40 : 0;
    parts.push([indicator, start | end | (nal[0]! & 0x1f), ...body.slice(i, i + size)]);
  }
  return parts;
}
const stapA = (...nals: number[][]) => [24, ...nals.flatMap((n) => [n.length >> 8, n.length & 0xff, ...n])];

describe('H264KeyframeAssembler', () => {
  it('answers SPS, PPS and IDR as Annex B at the marker bit; P frames give nothing', () => {
    const a = new H264KeyframeAssembler();
    expect(a.push(packet(1, 100, P_SLICE, true))).toBeUndefined();
    expect(a.push(packet(2, 200, SPS))).toBeUndefined();
    expect(a.push(packet(3, 200, PPS))).toBeUndefined();
    expect(a.push(packet(4, 200, IDR, true))).toEqual(annexB(SPS, PPS, IDR));
    expect(a.push(packet(5, 300, P_SLICE, true))).toBeUndefined();
  });

  it('reads STAP-A and FU-A, and finishes a frame without a marker when the next one starts', () => {
    const big = [0x65, ...Array.from({ length: 50 }, (_, i) => i)];
    const a = new H264KeyframeAssembler();
    const packets = [stapA(SPS, PPS, SEI), ...fuA(big, 7)].map((p, i) => packet(10 + i, 900, p));
    for (const p of packets) expect(a.push(p)).toBeUndefined();
    expect(a.push(packet(10 + packets.length, 1800, P_SLICE))).toEqual(annexB(SPS, PPS, SEI, big));
  });

  it('puts the parameter sets seen before in front of an IDR sent without them', () => {
    const a = new H264KeyframeAssembler();
    expect(a.push(packet(1, 1, IDR, true))).toBeUndefined(); // never saw an SPS: not decodable
    a.push(packet(2, 2, stapA(SPS, PPS)));
    a.push(packet(3, 2, P_SLICE, true));
    expect(a.push(packet(4, 3, IDR, true))).toEqual(annexB(SPS, PPS, IDR));
    a.reset();
    expect(a.push(packet(5, 4, IDR, true))).toBeUndefined();
  });

  it('drops a keyframe with a lost packet, or one over its byte bound', () => {
    const big = [0x65, ...Array.from({ length: 40 }, (_, i) => i)];
    const fragments = fuA(big, 10);
    const a = new H264KeyframeAssembler();
    a.push(packet(1, 5, SPS));
    a.push(packet(2, 5, PPS));
    a.push(packet(3, 5, fragments[0]!));
    // fragment 1 lost
    for (const [i, f] of fragments.slice(2).entries())
      a.push(packet(5 + i, 5, f, i === fragments.length - 3));
    expect(a.push(packet(20, 6, P_SLICE, true))).toBeUndefined();
    const small = new H264KeyframeAssembler({ maxFrameBytes: 30, maxParameterSetBytes: 16 });
    small.push(packet(1, 7, SPS));
    small.push(packet(2, 7, PPS));
    expect(small.push(packet(3, 7, big, true))).toBeUndefined();
    expect(small.push(packet(4, 8, IDR, true))).toEqual(annexB(SPS, PPS, IDR));
  });

  it('never throws and stays bounded on random payloads (seeded)', () => {
    const r = fuzzRandom(1207);
    const random = () => r.next();
    const a = new H264KeyframeAssembler({ maxFrameBytes: 4096, maxParameterSetBytes: 64 });
    let seq = 0;
    let ts = 0;
    for (let i = 0; i < 20_000; i++) {
      if (random() < 0.1) ts += 3000;
      const payload = Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256));
      const out = a.push(packet(seq++, ts, payload, random() < 0.05));
      if (out) expect(out.length).toBeLessThanOrEqual(4096 + 2 * (64 + 4));
    }
  });
});

describe('KeyframeStore', () => {
  it('keeps the latest keyframe per camera, numbered in order, with its time', () => {
    let now = 1000;
    const store = new KeyframeStore({ perCameraBytes: 100, totalBytes: 1000 }, () => now);
    expect(store.put('a', new Uint8Array(10))).toBe(true);
    now = 2000;
    store.put('b', new Uint8Array(20));
    store.put('a', new Uint8Array(30));
    expect(store.get('a')).toMatchObject({ seq: 3, at: 2000 });
    expect(store.get('a')!.data.length).toBe(30);
    expect(store.bytes).toBe(50);
    store.delete('a');
    expect(store.get('a')).toBeUndefined();
    expect(store.bytes).toBe(20);
  });

  it('refuses a keyframe over the camera bound (the older one stays) and evicts the oldest cameras past the total', () => {
    const store = new KeyframeStore({ perCameraBytes: 100, totalBytes: 250 });
    store.put('a', new Uint8Array(50));
    expect(store.put('a', new Uint8Array(101))).toBe(false);
    expect(store.get('a')!.data.length).toBe(50);
    store.put('b', new Uint8Array(100));
    store.put('c', new Uint8Array(100));
    expect(store.bytes).toBe(250);
    store.put('d', new Uint8Array(60)); // 310 > 250: 'a', then 'b' (the oldest) go
    expect([store.get('a'), store.get('b'), store.size, store.bytes]).toEqual([undefined, undefined, 2, 160]);
    store.put('c', new Uint8Array(10)); // c again: now the newest, d the oldest
    store.put('e', new Uint8Array(100));
    store.put('f', new Uint8Array(100));
    expect([store.get('d'), store.get('c')?.data.length, store.bytes]).toEqual([undefined, 10, 210]);
  });
});
