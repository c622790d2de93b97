import { describe, expect, it } from 'vitest';
import { encodeChannelNumber, encodeUint32, encodeXorAddress } from '../../../turn/attributes.js';
import { encodeChannelData } from '../../../turn/channel-data.js';
import { decodeStun, StunClass, StunWriter } from '../../../turn/stun-message.js';
import { TcpFramer } from '../../../turn/tcp-framing.js';
import { fuzzRandom } from '../../helpers/random.js';
import { unhandledRejectionsDuring } from '../../helpers/unhandled.js';
import { Attr, createHarness, StunMethod } from './core-harness.js';

function randomBytes(random: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

/** Valid messages of every kind the server reads, as seeds for mutation. */
function seeds(id: Buffer, key: Buffer): Buffer[] {
  const peer = encodeXorAddress({ ip: '8.8.8.8', port: 3478 }, id);
  const peer6 = encodeXorAddress({ ip: '2001:db8::1', port: 3478 }, id);
  const request = (method: number, attrs: Array<[number, Buffer]>) => {
    const w = new StunWriter(method, StunClass.request, id);
    for (const [t, v] of attrs) w.add(t, v);
    w.add(Attr.username, Buffer.from('9999999999:cam1'));
    w.add(Attr.realm, Buffer.from('lookout'));
    w.add(Attr.nonce, Buffer.from('abc'));
    return w.encode({ integrityKey: key });
  };
  const send = new StunWriter(StunMethod.send, StunClass.indication, id)
    .add(Attr.xorPeerAddress, peer)
    .add(Attr.data, Buffer.from('payload'))
    .encode();
  return [
    new StunWriter(StunMethod.binding, StunClass.request, id).encode(),
    request(StunMethod.allocate, [
      [Attr.requestedTransport, Buffer.from([17, 0, 0, 0])],
      [Attr.lifetime, encodeUint32(600)],
      [Attr.evenPort, Buffer.from([0x80])],
      [Attr.requestedAddressFamily, Buffer.from([1, 0, 0, 0])],
    ]),
    request(StunMethod.refresh, [[Attr.lifetime, encodeUint32(0)]]),
    request(StunMethod.createPermission, [
      [Attr.xorPeerAddress, peer],
      [Attr.xorPeerAddress, peer6],
    ]),
    request(StunMethod.channelBind, [
      [Attr.channelNumber, encodeChannelNumber(0x4000)],
      [Attr.xorPeerAddress, peer],
    ]),
    send,
    encodeChannelData(0x4000, Buffer.from('data'), false),
  ];
}

function mutate(random: () => number, seed: Buffer): Buffer {
  const out = Buffer.from(seed);
  const kind = Math.floor(random() * 4);
  if (kind === 0) {
    for (let i = 0; i < 1 + random() * 4; i++)
      out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(random() * out.length)); // truncated
  if (kind === 2) {
    // attribute length fields rewritten, keeping the header valid
    const at = 20 + 4 * Math.floor(random() * Math.max(1, (out.length - 20) / 4)) + 2;
    if (at + 2 <= out.length) out.writeUInt16BE(Math.floor(random() * 0x10000), at);
    return out;
  }
  return Buffer.concat([out, randomBytes(random, Math.floor(random() * 40))]);
}

describe('TURN parser and core fuzz', () => {
  it('never throws on random bytes or mutated valid messages', async () => {
    const random = fuzzRandom(20_251_124).next;
    const h = createHarness();
    const good = h.client();
    expect((await good.allocate()).code).toBe(0);
    const fuzzer = h.client('cam1', 41_000);
    const valid = seeds(Buffer.alloc(12, 4), fuzzer.key);
    const unhandled = await unhandledRejectionsDuring(() => {
      for (let i = 0; i < 20_000; i++) {
        const packet =
          i % 3 === 0
            ? randomBytes(random, Math.floor(random() * 120))
            : mutate(random, valid[Math.floor(random() * valid.length)]!);
        if (i % 2) packet[4] = 0x21; // keep some magic cookies to get past the first check
        expect(() => decodeStun(packet)).not.toThrow();
        expect(() => new TcpFramer().push(packet)).not.toThrow();
        expect(() => h.core.handleClientPacket(i % 5 ? fuzzer.link : good.link, packet)).not.toThrow();
      }
      // The in-memory relays settle in microtasks: the helper waits for their rejections.
    });
    expect(unhandled).toEqual([]);
    // The server still works for a well-behaved client afterwards.
    expect((await h.client('cam7', 42_000).allocate()).code).toBe(0);
  });

  it('never throws on garbled attribute values inside correctly signed requests', async () => {
    const random = fuzzRandom(7).next;
    const h = createHarness();
    const c = h.client();
    expect((await c.allocate()).code).toBe(0); // an allocation and a nonce: requests reach the handlers
    const methods = [
      StunMethod.allocate,
      StunMethod.refresh,
      StunMethod.createPermission,
      StunMethod.channelBind,
    ];
    const types = [
      Attr.requestedTransport,
      Attr.lifetime,
      Attr.evenPort,
      Attr.requestedAddressFamily,
      Attr.reservationToken,
      Attr.xorPeerAddress,
      Attr.channelNumber,
      Attr.data,
      Attr.dontFragment,
    ];
    const codes = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const w = new StunWriter(methods[i % methods.length]!, StunClass.request, randomBytes(random, 12));
      for (let n = 0; n < 1 + random() * 4; n++) {
        w.add(types[Math.floor(random() * types.length)]!, randomBytes(random, Math.floor(random() * 24)));
      }
      w.add(Attr.username, Buffer.from(c.credentials.username));
      w.add(Attr.realm, Buffer.from('lookout'));
      w.add(Attr.nonce, Buffer.from(c.nonce));
      const reply = await c.send(w.encode({ integrityKey: c.key }));
      codes.add(reply.code);
      if (!h.table.get(c.link.key)) expect((await c.allocate()).code).toBe(0);
    }
    expect([...codes].sort()).toEqual(expect.arrayContaining([0, 400, 437]));
    // Nothing leaked: every open relay socket belongs to an allocation or a reservation.
    expect(h.table.isPending(c.link.key)).toBe(false);
    expect(h.relays.filter((r) => !r.closed).length).toBe(h.table.size + h.ctx.reservations.size);
    expect((await h.client('cam7', 42_000).allocate()).code).toBe(0);
  });
});
