import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_BYTES,
  parseDeviceMessage,
  parseServerMessage,
} from '../../../media/signaling/messages.js';
import { fuzzRandom } from '../../helpers/random.js';

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const SDP = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n';

describe('device signaling messages', () => {
  it('accepts every documented device message', () => {
    const messages = [
      { v: 1, type: 'hello', agent: 'lookout-agent/0.1', trickle: true },
      { v: 1, type: 'answer', session: 'abcdefgh', sdp: SDP },
      {
        v: 1,
        type: 'candidate',
        session: 'abcdefgh',
        candidate: {
          candidate: 'candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      },
      { v: 1, type: 'candidate', session: 'abcdefgh', candidate: null },
      { v: 1, type: 'bye', session: 'abcdefgh', reason: 'source-ended' },
      { v: 1, type: 'error', session: 'abcdefgh', code: 'NO_COMMON_CODEC', message: 'only MJPEG here' },
      { v: 1, type: 'error', code: 'BUSY' },
    ];
    for (const m of messages)
      expect(parseDeviceMessage(enc(m))).toMatchObject({ ok: true, message: { type: m.type } });
  });

  it('defaults hello.trickle to false and maps unknown bye reasons to other', () => {
    expect(parseDeviceMessage(enc({ v: 1, type: 'hello' }))).toMatchObject({
      ok: true,
      message: { trickle: false },
    });
    expect(
      parseDeviceMessage(enc({ v: 1, type: 'bye', session: 'abcdefgh', reason: 'cat-on-lens' })),
    ).toMatchObject({
      ok: true,
      message: { reason: 'other' },
    });
  });

  it('rejects malformed input with a code, a reason and the session when readable', () => {
    expect(parseDeviceMessage(enc('{nope'))).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
      reason: 'not valid JSON',
    });
    expect(parseDeviceMessage(enc('[1,2]'))).toMatchObject({ ok: false, code: 'BAD_MESSAGE' });
    expect(parseDeviceMessage(enc({ v: 2, type: 'answer', session: 'abcdefgh', sdp: SDP }))).toMatchObject({
      ok: false,
      code: 'UNSUPPORTED_VERSION',
      session: 'abcdefgh',
    });
    expect(
      parseDeviceMessage(enc({ v: 1, type: 'answer', session: 'abcdefgh', sdp: 'hello' })),
    ).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
      session: 'abcdefgh',
      reason: expect.stringContaining('sdp'),
    });
    expect(parseDeviceMessage(enc({ v: 1, type: 'offer', session: 'abcdefgh', sdp: SDP }))).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
    });
    expect(parseDeviceMessage(enc({ v: 1, type: 'answer', session: 'short', sdp: SDP }))).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
    });
    expect(
      parseDeviceMessage(enc({ v: 1, type: 'answer', session: '../../etc', sdp: SDP })),
    ).not.toHaveProperty('session');
  });

  it('refuses oversized payloads before parsing them', () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    expect(parseDeviceMessage(big)).toMatchObject({
      ok: false,
      code: 'BAD_MESSAGE',
      reason: expect.stringContaining('exceeds'),
    });
  });

  it('never throws on random bytes or random JSON', () => {
    const pieces = [
      '{',
      '}',
      '"v":1',
      '"type":"answer"',
      '"session":"abcdefgh"',
      ',',
      '"sdp":"v=0"',
      'null',
      '[',
      ']',
      '"x"',
      '1e999',
      '\\u0000',
    ];
    const random = fuzzRandom(108);
    for (let i = 0; i < 5000; i++) {
      const text = Array.from({ length: random.int(12) }, () => random.pick(pieces)).join('');
      const result = parseDeviceMessage(Buffer.from(text));
      expect(typeof result.ok).toBe('boolean');
      const bytes = random.bytes(random.int(40));
      expect(parseDeviceMessage(bytes).ok).toBe(false);
    }
  });
});

describe('server signaling messages', () => {
  it('validates offers including ICE servers', () => {
    const offer = {
      v: 1,
      type: 'offer',
      session: 'abcdefgh',
      sdp: SDP,
      trickle: false,
      iceServers: [
        {
          urls: ['turn:203.0.113.5:3478?transport=udp'],
          username: '1767225600:cam1',
          credential: 'c2VjcmV0',
        },
      ],
    };
    expect(parseServerMessage(enc(offer))).toMatchObject({ ok: true });
    expect(parseServerMessage(enc({ ...offer, iceServers: [{ urls: ['http://x'] }] }))).toMatchObject({
      ok: false,
    });
  });
});
