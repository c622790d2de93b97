import { describe, expect, it } from 'vitest';
import { checkOffer } from '../../../media/sdp-offer.js';
import {
  candidateProblem,
  MAX_CANDIDATES_PER_PATCH,
  parseTrickleFragment,
} from '../../../media/trickle-fragment.js';
import { fuzzRandom } from '../../helpers/random.js';

/** What a browser (Chromium) sends, shortened: one audio, one video section, bundled. */
const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2',
  'a=setup:actpass',
  'a=mid:0',
  'a=recvonly',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=recvonly',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f',
  '',
].join('\r\n');

describe('checkOffer (the syntax of a WHEP offer)', () => {
  it('accepts a browser offer, with CRLF or LF line ends', () => {
    expect(checkOffer(OFFER)).toEqual({ ok: true });
    expect(checkOffer(OFFER.replaceAll('\r\n', '\n'))).toEqual({ ok: true });
  });

  it.each([
    ['v=0 alone', 'v=0'],
    ['v=0 and a newline', 'v=0\r\n'],
    ['garbage after v=0', 'v=0\r\nhello world\r\n'],
    ['no v=0', 'hello'],
    ['an empty body', ''],
    ['no media section', OFFER.split('m=audio')[0]!],
    ['a malformed m= line', OFFER.replace('m=video 9 UDP/TLS/RTP/SAVPF 96', 'm=video')],
    ['only a data channel', 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:a\r\n'],
    ['no ICE credentials', OFFER.replace(/a=ice-(ufrag|pwd):\S+\r\n/g, '')],
    ['no fingerprint', OFFER.replace(/a=fingerprint:[^\r]+\r\n/, '')],
    ['a NUL byte', OFFER.replace('s=-', 's=\0')],
  ])('refuses %s with a reason', (_name, sdp) => {
    const result = checkOffer(sdp);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(/\w/);
  });

  it('never throws on mutated offers and random text (seeded)', () => {
    const random = fuzzRandom(9_016).next;
    const lines = OFFER.split('\r\n');
    for (let i = 0; i < 2000; i++) {
      const mutated = [...lines];
      for (let j = 0; j < 1 + random() * 4; j++) {
        const at = Math.floor(random() * mutated.length);
        const bytes = Array.from({ length: Math.floor(random() * 12) }, () =>
          String.fromCharCode(Math.floor(random() * 256)),
        ).join('');
        if (random() < 0.5) mutated[at] = bytes;
        else mutated.splice(at, 1);
      }
      const result = checkOffer(mutated.join(random() < 0.5 ? '\r\n' : '\n'));
      expect(typeof result.ok).toBe('boolean');
    }
  });
});

const HOST = 'candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw';
const SRFLX = 'candidate:842163049 1 udp 1677729535 198.51.100.7 51000 typ srflx raddr 0.0.0.0 rport 0';
const MDNS = 'candidate:2 1 UDP 2122252543 4b1c5f9c-8e2f-4a8e-9d77-6c1b3d2e4f5a.local 54321 typ host';
const IPV6_TCP = 'candidate:3 1 tcp 1518280447 2001:db8::1 9 typ host tcptype active';

describe('parseTrickleFragment (application/trickle-ice-sdpfrag)', () => {
  it('takes the candidates of an RFC 8840 fragment and ignores the other lines', () => {
    const fragment = [
      'a=ice-options:trickle ice2',
      'a=group:BUNDLE 0 1',
      'm=audio 9 RTP/AVP 0',
      'a=mid:0',
      'a=ice-ufrag:EsAw',
      'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
      `a=${HOST}`,
      `a=${SRFLX}`,
      `a=${MDNS}`,
      `a=${IPV6_TCP}`,
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    expect(parseTrickleFragment(fragment)).toEqual({ ok: true, candidates: [HOST, SRFLX, MDNS, IPV6_TCP] });
    expect(parseTrickleFragment('')).toEqual({ ok: true, candidates: [] });
  });

  it.each([
    ['too few fields', 'candidate:1 1 udp 2122260223 192.0.2.1 61764 typ'],
    ['a bad foundation', 'candidate:ab_c 1 udp 1 192.0.2.1 1 typ host'],
    ['component 0', 'candidate:1 0 udp 1 192.0.2.1 1 typ host'],
    ['a non-numeric priority', 'candidate:1 1 udp high 192.0.2.1 1 typ host'],
    ['a priority above 2^32', 'candidate:1 1 udp 4294967296 192.0.2.1 1 typ host'],
    ['a bad address', 'candidate:1 1 udp 1 999.1.1.1.1 1 typ host'],
    ['an address that is no name', 'candidate:1 1 udp 1 -bad-.local 1 typ host'],
    ['port 70000', 'candidate:1 1 udp 1 192.0.2.1 70000 typ host'],
    ["no 'typ'", 'candidate:1 1 udp 1 192.0.2.1 1 type host'],
    ['an odd extension', 'candidate:1 1 udp 1 192.0.2.1 1 typ host generation'],
    ['a bad rport', 'candidate:1 1 udp 1 192.0.2.1 1 typ srflx raddr 10.0.0.1 rport x'],
  ])('refuses a candidate with %s', (_name, value) => {
    expect(candidateProblem(value.slice('candidate:'.length))).toMatch(/\w/);
    expect(parseTrickleFragment(`a=mid:0\r\na=${value}\r\n`)).toMatchObject({
      ok: false,
      code: 'CANDIDATE_INVALID',
      reason: expect.stringMatching(/^line 2: /),
    });
  });

  it('refuses lines that are not SDP and more candidates than the bound', () => {
    expect(parseTrickleFragment('hello\r\n')).toMatchObject({ ok: false, code: 'SDPFRAG_INVALID' });
    const many = Array.from({ length: MAX_CANDIDATES_PER_PATCH + 1 }, () => `a=${HOST}`).join('\r\n');
    expect(parseTrickleFragment(many)).toMatchObject({ ok: false, code: 'SDPFRAG_INVALID' });
  });

  it('never throws, and what it accepts has the fields werift reads (seeded fuzz)', () => {
    const random = fuzzRandom(15).next;
    const pieces = [
      'candidate:',
      'a=',
      ' ',
      '1',
      'udp',
      'typ',
      'host',
      '192.0.2.1',
      '::1',
      'x.local',
      '\r\n',
      ':',
      '-',
      '65536',
      '\0',
    ];
    for (let i = 0; i < 3000; i++) {
      let text: string;
      if (random() < 0.5) {
        const base = [HOST, SRFLX, MDNS][Math.floor(random() * 3)]!.split(' ');
        for (let j = 0; j < 1 + random() * 3; j++) {
          base[Math.floor(random() * base.length)] = pieces[Math.floor(random() * pieces.length)]!;
        }
        text = `a=${base.join(' ')}`;
      } else {
        text = Array.from(
          { length: Math.floor(random() * 16) },
          () => pieces[Math.floor(random() * pieces.length)],
        ).join('');
      }
      const result = parseTrickleFragment(text);
      if (!result.ok) {
        expect(['SDPFRAG_INVALID', 'CANDIDATE_INVALID']).toContain(result.code);
        continue;
      }
      for (const candidate of result.candidates) {
        const fields = candidate.slice('candidate:'.length).split(' ');
        expect(fields.length).toBeGreaterThanOrEqual(8);
        expect(Number.isInteger(Number(fields[5]))).toBe(true);
      }
    }
  });
});
