import { describe, expect, it, vi } from 'vitest';
import { encodeChannelData } from '../../../turn/channel-data.js';
import { StunClass, StunMethod, StunWriter } from '../../../turn/stun-message.js';
import { TcpFramer } from '../../../turn/tcp-framing.js';

describe('TcpFramer (RFC 8656 §5, §12.5)', () => {
  const stun = new StunWriter(StunMethod.binding, StunClass.request, Buffer.alloc(12, 3)).encode();
  const channel = encodeChannelData(0x4000, Buffer.from('odd-length'), true);
  const stream = Buffer.concat([stun, channel, stun, encodeChannelData(0x4fff, Buffer.alloc(0), true)]);

  it('splits STUN and padded ChannelData however the stream is chunked', () => {
    for (const size of [1, 2, 3, 5, 17, 64, stream.length]) {
      const framer = new TcpFramer();
      const frames: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) {
        const out = framer.push(stream.subarray(i, i + size));
        if (out === 'error') throw new Error('unexpected error');
        frames.push(...out);
      }
      expect(frames.map((f) => f.length)).toEqual([stun.length, channel.length, stun.length, 4]);
      expect(framer.buffered).toBe(0);
    }
  });

  it('assembles a 64 KB frame sent a byte at a time copying it about once, not once per byte', () => {
    const large = Buffer.alloc(20 + 65_532);
    large.writeUInt16BE(65_532, 2);
    large.writeUInt32BE(0x2112a442, 4);
    // Count the bytes Buffer.concat copies: joining the waiting bytes on every push copied
    // some 2 GB for this frame; joining them once its size is known copies it about once.
    let copied = 0;
    const concat = Buffer.concat;
    const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, totalLength) => {
      copied += totalLength ?? list.reduce((n, b) => n + b.length, 0);
      return concat(list, totalLength);
    });
    try {
      const framer = new TcpFramer();
      const frames: Buffer[] = [];
      for (const byte of large) frames.push(...(framer.push(Buffer.from([byte])) as Buffer[]));
      expect(frames).toHaveLength(1);
      expect(frames[0]!.equals(large)).toBe(true);
      expect(framer.buffered).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(copied).toBeLessThan(3 * large.length);
  });

  it('reports a stream that is neither STUN nor ChannelData', () => {
    expect(new TcpFramer().push(Buffer.from([0x80, 0x00, 0x00, 0x04]))).toBe('error');
    expect(new TcpFramer().push(Buffer.from('160301020001000000000000', 'hex'))).toBe('error');
    expect(new TcpFramer().push(Buffer.from([0x00, 0x01, 0x00, 0x03]))).toBe('error'); // length not a multiple of 4
  });
});
