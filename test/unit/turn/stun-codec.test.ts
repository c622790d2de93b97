import { describe, expect, it } from 'vitest';
import { decodeXorAddress, encodeXorAddress } from '../../../turn/attributes.js';
import { decodeChannelData, encodeChannelData } from '../../../turn/channel-data.js';
import { longTermKey } from '../../../turn/long-term-auth.js';
import {
  Attr,
  decodeStun,
  encodeType,
  getAttribute,
  StunClass,
  StunMethod,
  StunWriter,
  verifyIntegrity,
} from '../../../turn/stun-message.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1-§2.4 test vectors.
const SAMPLE_REQUEST = hex(`
  000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063
  6c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68
  3676592020200008001 49aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf`);
const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
  00200008 0001a147e112a643 000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7
  80280004c07d4c96`);
const SAMPLE_IPV6_RESPONSE = hex(`
  010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
  00200014 0002a1470113a9faa5d3f179bc25f4b5bed2b9d9 00080014a382954e4be67bf11784c97c8292c275bfe3ed41
  80280004c8fb0b4c`);
const SAMPLE_LONG_TERM_REQUEST = hex(`
  000100602112a44278ad3433c6ad72c0 29da412e 00060012e3839ee38388e383aae38383e382afe382b90000
  0015001c662f2f3439396b393534643 64f4c33346f4c394653547679363473 41 0014000b6578616d706c652e6f726700
  00080014f67024656dd64a3e02b8e0712e85c9a28ca89666`);
const SHORT_TERM_KEY = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt');

describe('STUN codec against RFC 5769', () => {
  it('parses the sample request and verifies its MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const message = decodeStun(SAMPLE_REQUEST)!;
    expect(message).toBeDefined(); // a wrong FINGERPRINT would make this undefined
    expect(message.method).toBe(StunMethod.binding);
    expect(message.cls).toBe(StunClass.request);
    expect(getAttribute(message, Attr.username)!.toString()).toBe('evtj:h6vY');
    expect(verifyIntegrity(message, SHORT_TERM_KEY)).toBe(true);
    expect(verifyIntegrity(message, Buffer.from('wrong'))).toBe(false);
  });

  it('decodes the IPv4 and IPv6 sample responses and their XOR-MAPPED-ADDRESS', () => {
    const v4 = decodeStun(SAMPLE_IPV4_RESPONSE)!;
    expect(v4.cls).toBe(StunClass.success);
    expect(verifyIntegrity(v4, SHORT_TERM_KEY)).toBe(true);
    expect(decodeXorAddress(getAttribute(v4, Attr.xorMappedAddress)!, v4.transactionId)).toEqual({
      family: 4,
      ip: '192.0.2.1',
      port: 32853,
    });
    const v6 = decodeStun(SAMPLE_IPV6_RESPONSE)!;
    expect(verifyIntegrity(v6, SHORT_TERM_KEY)).toBe(true);
    expect(decodeXorAddress(getAttribute(v6, Attr.xorMappedAddress)!, v6.transactionId)).toEqual({
      family: 6,
      ip: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
  });

  it('verifies and re-encodes the long-term credential sample byte for byte', () => {
    const username = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9';
    const key = longTermKey(username, 'example.org', 'TheMatrIX');
    const message = decodeStun(SAMPLE_LONG_TERM_REQUEST)!;
    expect(verifyIntegrity(message, key)).toBe(true);
    const writer = new StunWriter(StunMethod.binding, StunClass.request, message.transactionId)
      .add(Attr.username, Buffer.from(username))
      .add(Attr.nonce, Buffer.from('f//499k954d6OL34oL9FSTvy64sA'))
      .add(Attr.realm, Buffer.from('example.org'));
    expect(writer.encode({ integrityKey: key, fingerprint: false }).toString('hex')).toBe(
      SAMPLE_LONG_TERM_REQUEST.toString('hex'),
    );
  });

  it('refuses a message whose FINGERPRINT does not match', () => {
    const broken = Buffer.from(SAMPLE_REQUEST);
    broken[broken.length - 1]! ^= 1;
    expect(decodeStun(broken)).toBeUndefined();
  });

  it('drops a tampered message from integrity', () => {
    const tampered = Buffer.from(SAMPLE_LONG_TERM_REQUEST);
    tampered[30]! ^= 1; // inside USERNAME
    const message = decodeStun(tampered)!;
    expect(verifyIntegrity(message, longTermKey('x', 'example.org', 'TheMatrIX'))).toBe(false);
  });

  it('refuses a MESSAGE-INTEGRITY wrong in any one byte or of the wrong length', () => {
    const key = Buffer.from('k');
    const signed = new StunWriter(StunMethod.refresh, StunClass.request, Buffer.alloc(12, 2)).encode({
      integrityKey: key,
      fingerprint: false,
    });
    expect(verifyIntegrity(decodeStun(signed)!, key)).toBe(true);
    for (let i = signed.length - 20; i < signed.length; i++) {
      const forged = Buffer.from(signed);
      forged[i]! ^= 0x80;
      expect([i, verifyIntegrity(decodeStun(forged)!, key)]).toEqual([i, false]);
    }
    const short = new StunWriter(StunMethod.refresh, StunClass.request, Buffer.alloc(12, 2))
      .add(Attr.messageIntegrity, signed.subarray(-20, -4))
      .encode({ fingerprint: false });
    expect(verifyIntegrity(decodeStun(short)!, key)).toBe(false);
  });
});

describe('STUN codec round trips', () => {
  it('encodes every method and class into the type field and back', () => {
    for (const method of Object.values(StunMethod)) {
      for (const cls of Object.values(StunClass)) {
        const id = Buffer.alloc(12, 7);
        const decoded = decodeStun(new StunWriter(method, cls, id).encode())!;
        expect([decoded.method, decoded.cls]).toEqual([method, cls]);
      }
    }
    expect(encodeType(StunMethod.allocate, StunClass.error)).toBe(0x0113);
    expect(encodeType(StunMethod.data, StunClass.indication)).toBe(0x0017);
  });

  it('keeps attributes, padding and integrity through encode/decode', () => {
    const key = Buffer.from('k');
    const id = Buffer.alloc(12, 1);
    const packet = new StunWriter(StunMethod.allocate, StunClass.request, id)
      .add(Attr.data, Buffer.from('abcde'))
      .add(Attr.xorPeerAddress, encodeXorAddress({ ip: '2001:db8::1', port: 4242 }, id))
      .encode({ integrityKey: key });
    expect(packet.length % 4).toBe(0);
    const message = decodeStun(packet)!;
    expect(getAttribute(message, Attr.data)!.toString()).toBe('abcde');
    expect(decodeXorAddress(getAttribute(message, Attr.xorPeerAddress)!, id).ip).toBe('2001:db8::1');
    expect(verifyIntegrity(message, key)).toBe(true);
  });

  it('frames ChannelData with and without TCP padding', () => {
    const data = Buffer.from('hello');
    const udp = encodeChannelData(0x4001, data, false);
    const tcp = encodeChannelData(0x4001, data, true);
    expect([udp.length, tcp.length]).toEqual([9, 12]);
    expect(decodeChannelData(udp)).toEqual({ channel: 0x4001, data });
    expect(decodeChannelData(tcp)).toEqual({ channel: 0x4001, data });
    expect(decodeChannelData(udp.subarray(0, 8))).toBeUndefined();
  });

  it('zeroes the TCP padding even when the buffer pool held other bytes', () => {
    for (let i = 0; i < 2000; i++) Buffer.allocUnsafe(7).fill(0xff); // dirty the shared pool
    for (let length = 0; length < 8; length++) {
      const framed = encodeChannelData(0x4001, Buffer.alloc(length, 0xab), true);
      expect(framed.length % 4).toBe(0);
      expect([...framed.subarray(4 + length)].every((b) => b === 0)).toBe(true);
    }
  });
});
