import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { portSlices } from '../../../media/port-slices.js';
import { parseRtp } from '../../../media/rtp-bytes.js';
import { fuzzRandom } from '../../helpers/random.js';

describe('parseRtp', () => {
  it('reads what werift writes: header fields and a payload view, with CSRCs, extensions and padding', () => {
    const packet = new RtpPacket(
      new RtpHeader({
        version: 2,
        padding: false,
        paddingSize: 0,
        extension: true,
        marker: true,
        payloadOffset: 0,
        payloadType: 102,
        sequenceNumber: 65_535,
        timestamp: 4_000_000_000,
        ssrc: 1234,
        csrcLength: 2,
        csrc: [1, 2],
        extensionProfile: 0xbede,
        extensionLength: 0,
        extensions: [{ id: 1, payload: Buffer.from([7, 7, 7]) }],
      }),
      Buffer.from([0x65, 1, 2, 3]),
    );
    const bytes = packet.serialize();
    const parsed = parseRtp(bytes)!;
    expect(parsed).toMatchObject({ payloadType: 102, sequenceNumber: 65_535, timestamp: 4_000_000_000 });
    expect([...parsed.payload]).toEqual([0x65, 1, 2, 3]);
    // Padding: the last byte counts the padding bytes, which are not payload.
    const padded = Buffer.concat([bytes, Buffer.from([0, 0, 3])]);
    padded[0]! |= 0x20;
    expect([...parseRtp(padded)!.payload]).toEqual([0x65, 1, 2, 3]);
  });

  it('refuses what is not RTP, and never throws on random bytes', () => {
    expect(parseRtp(Buffer.alloc(11))).toBeUndefined();
    expect(parseRtp(Buffer.from([0x40, ...new Array(20).fill(0)]))).toBeUndefined(); // version 1
    const header = Buffer.alloc(12);
    header[0] = 0x8f; // 15 CSRCs the datagram does not hold
    expect(parseRtp(header)).toBeUndefined();
    const random = fuzzRandom(7);
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(Array.from({ length: random.int(64) }, () => random.int(256)));
      const parsed = parseRtp(bytes);
      if (parsed) expect(parsed.payload.length).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('portSlices', () => {
  it('splits the ICE port range into disjoint contiguous slices, one per worker', () => {
    expect(portSlices([40_000, 40_013], 3)).toEqual([
      [40_000, 40_004],
      [40_005, 40_009],
      [40_010, 40_013],
    ]);
    expect(portSlices([50_000, 50_099], 1)).toEqual([[50_000, 50_099]]);
  });

  it('refuses a range too small for the workers, naming both settings', () => {
    expect(() => portSlices([40_000, 40_006], 2)).toThrow(/media.workers/);
  });
});
