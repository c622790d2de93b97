import { describe, expect, it } from 'vitest';
import { bytesReader, playableLength, topLevelBoxes } from '../../../recordings/fmp4.js';
import { fuzzRandom } from '../../helpers/random.js';

function box(type: string, payload = 0): Buffer {
  const b = Buffer.alloc(8 + payload);
  b.writeUInt32BE(8 + payload, 0);
  b.write(type, 4, 'latin1');
  return b;
}

const file = Buffer.concat([
  box('ftyp', 20),
  box('moov', 100),
  box('moof', 30),
  box('mdat', 500),
  box('moof', 30),
  box('mdat', 400),
]);

describe('fragmented MP4 trimming', () => {
  it('reads top-level boxes', () => {
    const { boxes, complete } = topLevelBoxes(file.length, bytesReader(file));
    expect(complete).toBe(true);
    expect(boxes.map((b) => b.type)).toEqual(['ftyp', 'moov', 'moof', 'mdat', 'moof', 'mdat']);
  });

  it('keeps a whole file whole', () => {
    expect(playableLength(file.length, bytesReader(file))).toBe(file.length);
  });

  it('cuts a file truncated inside the last mdat after the previous fragment', () => {
    const cut = file.subarray(0, file.length - 100);
    expect(playableLength(cut.length, bytesReader(cut))).toBe(28 + 108 + 38 + 508);
  });

  it('cuts a dangling moof without its mdat', () => {
    const cut = file.subarray(0, 28 + 108 + 38 + 508 + 38);
    expect(playableLength(cut.length, bytesReader(cut))).toBe(28 + 108 + 38 + 508);
  });

  it('finds nothing playable without a moov or before the first whole fragment', () => {
    const headerOnly = file.subarray(0, 28 + 108 + 20);
    expect(playableLength(headerOnly.length, bytesReader(headerOnly))).toBe(0);
    const noMoov = Buffer.concat([box('ftyp', 20), box('moof', 30), box('mdat', 10)]);
    expect(playableLength(noMoov.length, bytesReader(noMoov))).toBe(0);
  });

  it('stops at garbage instead of trusting it', () => {
    const garbage = Buffer.concat([box('ftyp', 20), Buffer.from([0, 0, 0, 4, 0xff, 0xfe, 0, 1])]);
    const { boxes, complete } = topLevelBoxes(garbage.length, bytesReader(garbage));
    expect(boxes).toHaveLength(1);
    expect(complete).toBe(false);
    const random = fuzzRandom(58);
    for (let i = 0; i < 200; i++) {
      const bytes = random.bytes(64);
      expect(() => playableLength(bytes.length, bytesReader(bytes))).not.toThrow();
    }
  });
});
