import { describe, expect, it } from 'vitest';
import {
  decodeXorAddress,
  encodeChannelNumber,
  encodeUint32,
  encodeXorAddress,
  FAMILY_IPV6,
} from '../../../turn/attributes.js';
import { decodeChannelData, encodeChannelData } from '../../../turn/channel-data.js';
import { issueTurnCredentials } from '../../../turn/credentials.js';
import { decodeStun, getAttribute, StunClass, StunWriter } from '../../../turn/stun-message.js';
import { Attr, createHarness, SECRET, StunMethod } from './core-harness.js';

const PUBLIC_PEER = '8.8.8.8';

function lifetimeOf(reply: { message: Parameters<typeof getAttribute>[0] }): number {
  return getAttribute(reply.message, Attr.lifetime)!.readUInt32BE(0);
}

describe('TurnCore authentication (RFC 8489 §9.2, TURN REST credentials)', () => {
  it('challenges an unauthenticated request with 401, REALM and NONCE', async () => {
    const h = createHarness();
    const reply = await h
      .client()
      .send(new StunWriter(StunMethod.allocate, StunClass.request, Buffer.alloc(12, 1)).encode());
    expect(reply.code).toBe(401);
    expect(getAttribute(reply.message, Attr.realm)!.toString()).toBe('lookout');
    expect(getAttribute(reply.message, Attr.nonce)!.length).toBeGreaterThan(8);
  });

  it('signs every success with MESSAGE-INTEGRITY (Allocate, Refresh, CreatePermission, ChannelBind)', async () => {
    const h = createHarness();
    const c = h.client();
    const replies = [
      await c.allocate(),
      await c.refresh(),
      await c.createPermission(PUBLIC_PEER),
      await c.request(StunMethod.channelBind, (id) => [
        [Attr.channelNumber, encodeChannelNumber(0x4000)],
        [Attr.xorPeerAddress, encodeXorAddress({ ip: PUBLIC_PEER, port: 9 }, id)],
      ]),
    ];
    for (const r of replies) expect([r.code, r.integrityOk]).toEqual([0, true]);
  });

  it('answers 401 to a wrong password and to an expired username', async () => {
    const h = createHarness();
    const wrong = h.client();
    wrong.password = 'not-the-password';
    expect((await wrong.allocate()).code).toBe(401);
    const expired = h.client('cam2');
    h.advance(86_400_000 + 1000);
    expect((await expired.allocate()).code).toBe(401);
  });

  it('answers 438 to a stale nonce, then accepts the fresh one', async () => {
    const h = createHarness({ lifetimes: { nonceSeconds: 60 } });
    const c = h.client();
    expect((await c.allocate()).code).toBe(0);
    h.advance(61_000);
    const stale = await c.refresh();
    expect(stale.code).toBe(438);
    c.nonce = getAttribute(stale.message, Attr.nonce)!.toString();
    expect((await c.refresh()).code).toBe(0);
  });

  it('answers 441 when another user uses the allocation', async () => {
    const h = createHarness();
    const c = h.client('cam1');
    expect((await c.allocate()).code).toBe(0);
    const other = issueTurnCredentials({ secret: SECRET, deviceId: 'cam9', ttlSeconds: 600, nowMs: h.now() });
    Object.assign(c.credentials, other);
    c.password = other.credential;
    expect((await c.refresh()).code).toBe(441);
  });
});

describe('TurnCore Allocate (RFC 8656 §7.2)', () => {
  it('returns relayed and mapped addresses and the default lifetime', async () => {
    const h = createHarness();
    const reply = await h.client().allocate();
    const relayed = decodeXorAddress(
      getAttribute(reply.message, Attr.xorRelayedAddress)!,
      reply.message.transactionId,
    );
    expect(relayed).toEqual({ family: 4, ip: '203.0.113.1', port: 50_000 });
    expect(lifetimeOf(reply)).toBe(600);
  });

  it('clamps the requested LIFETIME between the default and the maximum', async () => {
    const h = createHarness();
    expect(lifetimeOf(await h.client('a', 1).allocate([[Attr.lifetime, encodeUint32(30)]]))).toBe(600);
    expect(lifetimeOf(await h.client('b', 2).allocate([[Attr.lifetime, encodeUint32(1200)]]))).toBe(1200);
    expect(lifetimeOf(await h.client('c', 3).allocate([[Attr.lifetime, encodeUint32(99_999)]]))).toBe(3600);
  });

  it('answers a retransmitted Allocate with the same response and another with 437', async () => {
    const h = createHarness();
    const c = h.client();
    await c.request(StunMethod.binding, () => [], false);
    await c.refresh(); // fetches a nonce (437: no allocation yet)
    const allocate = (txByte: number) => {
      const writer = new StunWriter(StunMethod.allocate, StunClass.request, Buffer.alloc(12, txByte));
      writer.add(Attr.requestedTransport, Buffer.from([17, 0, 0, 0]));
      writer.add(Attr.username, Buffer.from(c.credentials.username));
      writer.add(Attr.realm, Buffer.from('lookout'));
      writer.add(Attr.nonce, Buffer.from(c.nonce));
      return writer.encode({ integrityKey: c.key });
    };
    const first = await c.send(allocate(9));
    const again = await c.send(allocate(9));
    expect(first.code).toBe(0);
    expect(again.message.raw.equals(first.message.raw)).toBe(true);
    expect((await c.send(allocate(10))).code).toBe(437); // a second allocation on one 5-tuple
    expect(h.relays).toHaveLength(1);
  });

  it('refuses unsupported transports, families, tokens and unknown attributes', async () => {
    const h = createHarness();
    const tcp = await h
      .client('a', 1)
      .request(StunMethod.allocate, () => [[Attr.requestedTransport, Buffer.from([6, 0, 0, 0])]]);
    expect(tcp.code).toBe(442);
    expect((await h.client('a', 2).request(StunMethod.allocate)).code).toBe(400);
    const v6 = await h
      .client('a', 3)
      .allocate([[Attr.requestedAddressFamily, Buffer.from([FAMILY_IPV6, 0, 0, 0])]]);
    expect(v6.code).toBe(440);
    const token = await h.client('a', 4).allocate([[Attr.reservationToken, Buffer.alloc(8)]]);
    expect(token.code).toBe(508);
    const unknown = await h.client('a', 5).allocate([[0x7777, Buffer.alloc(4)]]);
    expect([unknown.code, getAttribute(unknown.message, Attr.unknownAttributes)!.readUInt16BE(0)]).toEqual([
      420, 0x7777,
    ]);
    const evenPort = await h.client('a', 6).allocate([[Attr.evenPort, Buffer.from([0x80])]]);
    expect(evenPort.code).toBe(0); // honoured without the reservation
    expect(h.table.size).toBe(1);
  });

  it('reserves the next port for EVEN-PORT with R and hands it to the RESERVATION-TOKEN, once', async () => {
    const h = createHarness();
    const rtp = await h.client('cam1', 1).allocate([[Attr.evenPort, Buffer.from([0x80, 0, 0, 0])]]);
    const token = getAttribute(rtp.message, Attr.reservationToken)!;
    const rtpPort = decodeXorAddress(
      getAttribute(rtp.message, Attr.xorRelayedAddress)!,
      rtp.message.transactionId,
    ).port;
    expect([rtp.code, token.length, rtpPort % 2]).toEqual([0, 8, 0]);
    const rtcp = await h.client('cam1', 2).allocate([[Attr.reservationToken, token]]);
    const rtcpPort = decodeXorAddress(
      getAttribute(rtcp.message, Attr.xorRelayedAddress)!,
      rtcp.message.transactionId,
    ).port;
    expect([rtcp.code, rtcpPort]).toEqual([0, rtpPort + 1]);
    expect((await h.client('cam1', 3).allocate([[Attr.reservationToken, token]])).code).toBe(508);
  });

  it('closes a reservation nobody claims within 30 s', async () => {
    const h = createHarness();
    const rtp = await h.client('cam1', 1).allocate([[Attr.evenPort, Buffer.from([0x80, 0, 0, 0])]]);
    const token = getAttribute(rtp.message, Attr.reservationToken)!;
    h.advance(31_000);
    expect(h.relays.map((r) => r.closed)).toEqual([false, true]);
    expect((await h.client('cam1', 2).allocate([[Attr.reservationToken, token]])).code).toBe(508);
  });

  it('signs a 400 for a malformed attribute in an authenticated request', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    const reply = await c.request(StunMethod.refresh, () => [[Attr.lifetime, Buffer.alloc(3)]]);
    expect([reply.code, reply.integrityOk]).toEqual([400, true]);
  });

  it('enforces the per-device quota (486) and the total (508)', async () => {
    const h = createHarness({ maxPerDevice: 2, maxAllocations: 3 });
    expect((await h.client('cam1', 1).allocate()).code).toBe(0);
    expect((await h.client('cam1', 2).allocate()).code).toBe(0);
    expect((await h.client('cam1', 3).allocate()).code).toBe(486);
    expect((await h.client('cam2', 4).allocate()).code).toBe(0);
    expect((await h.client('cam3', 5).allocate()).code).toBe(508);
  });

  it('refuses a device that is not allowed and ends its allocation on Refresh', async () => {
    const h = createHarness();
    const c = h.client('cam1');
    expect((await c.allocate()).code).toBe(0);
    h.revoked.add('cam1');
    expect((await h.client('cam1', 2).allocate()).code).toBe(403);
    expect((await c.refresh()).code).toBe(403);
    expect([h.table.size, h.relays[0]!.closed]).toEqual([0, true]);
  });
});

describe('TurnCore lifetimes with an injected clock', () => {
  it('expires an allocation and closes its relay; Refresh extends it; LIFETIME 0 deletes', async () => {
    const h = createHarness({ lifetimes: { nonceSeconds: 3600 } });
    const a = h.client('cam1', 1);
    const b = h.client('cam1', 2);
    await a.allocate();
    await b.allocate();
    h.advance(500_000);
    expect(lifetimeOf(await b.refresh(600))).toBe(600);
    h.advance(100_001); // a reaches 600 s
    expect(h.relays.map((r) => r.closed)).toEqual([true, false]);
    expect((await a.refresh()).code).toBe(437);
    const deleted = await b.refresh(0);
    expect([deleted.code, lifetimeOf(deleted), h.relays[1]!.closed, h.table.size]).toEqual([0, 0, true, 0]);
  });

  it('caps a Refresh at the maximum lifetime', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    expect(lifetimeOf(await c.refresh(50_000))).toBe(3600);
  });

  it('lets permissions lapse after 300 s and channels after 600 s', async () => {
    const h = createHarness({ lifetimes: { allocationDefaultSeconds: 3600 } });
    const c = h.client();
    await c.allocate();
    const relay = h.relays[0]!;
    await c.request(StunMethod.channelBind, (id) => [
      [Attr.channelNumber, encodeChannelNumber(0x4001)],
      [Attr.xorPeerAddress, encodeXorAddress({ ip: PUBLIC_PEER, port: 7000 }, id)],
    ]);
    c.link.send = (d) => c.inbox.push(Buffer.from(d));
    relay.deliver(Buffer.from('in'), PUBLIC_PEER, 7000);
    expect(decodeChannelData(c.inbox.at(-1)!)?.data.toString()).toBe('in');
    h.advance(299_000);
    c.core.handleClientPacket(c.link, encodeChannelData(0x4001, Buffer.from('out'), false));
    expect(relay.sent.map((s) => s.data.toString())).toEqual(['out']);
    h.advance(2_000); // permission gone (300 s), channel still bound
    c.core.handleClientPacket(c.link, encodeChannelData(0x4001, Buffer.from('late'), false));
    const inboxBefore = c.inbox.length;
    relay.deliver(Buffer.from('late-in'), PUBLIC_PEER, 7000);
    expect([relay.sent.length, c.inbox.length]).toEqual([1, inboxBefore]);
  });
});

describe('TurnCore relaying', () => {
  it('relays Send indications and answers with Data indications, only with a permission', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    const relay = h.relays[0]!;
    const send = (data: string) => {
      const w = new StunWriter(StunMethod.send, StunClass.indication, Buffer.alloc(12, 5));
      w.add(Attr.xorPeerAddress, encodeXorAddress({ ip: PUBLIC_PEER, port: 3000 }, w.transactionId));
      w.add(Attr.data, Buffer.from(data));
      c.core.handleClientPacket(c.link, w.encode());
    };
    send('dropped');
    relay.deliver(Buffer.from('dropped too'), PUBLIC_PEER, 3000);
    const inboxBefore = c.inbox.length;
    expect((await c.createPermission(PUBLIC_PEER)).code).toBe(0);
    send('hello');
    relay.deliver(Buffer.from('world'), PUBLIC_PEER, 3001);
    expect(relay.sent).toEqual([{ data: Buffer.from('hello'), ip: PUBLIC_PEER, port: 3000 }]);
    const indication = decodeStun(c.inbox.at(-1)!)!;
    expect(c.inbox.length).toBe(inboxBefore + 2); // permission success + the Data indication
    expect(indication.method).toBe(StunMethod.data);
    expect(getAttribute(indication, Attr.data)!.toString()).toBe('world');
    expect(
      decodeXorAddress(getAttribute(indication, Attr.xorPeerAddress)!, indication.transactionId).port,
    ).toBe(3001);
  });

  it('answers 403 for forbidden peers and installs none of a mixed request', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '0.0.0.0', '169.254.169.254', '10.0.0.1']) {
      expect([ip, (await c.createPermission(ip)).code]).toEqual([ip, 403]);
    }
    const mixed = await c.request(StunMethod.createPermission, (id) => [
      [Attr.xorPeerAddress, encodeXorAddress({ ip: PUBLIC_PEER, port: 1 }, id)],
      [Attr.xorPeerAddress, encodeXorAddress({ ip: '192.168.0.1', port: 1 }, id)],
    ]);
    expect(mixed.code).toBe(403);
    expect(h.table.get(c.link.key)!.permissionCount).toBe(0);
    expect((await c.createPermission('2001:4860::1')).code).toBe(443);
  });

  it('rejects channel numbers out of range and rebinding conflicts', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    const bind = (channel: number, port: number) =>
      c.request(StunMethod.channelBind, (id) => [
        [Attr.channelNumber, encodeChannelNumber(channel)],
        [Attr.xorPeerAddress, encodeXorAddress({ ip: PUBLIC_PEER, port }, id)],
      ]);
    expect((await bind(0x3fff, 1)).code).toBe(400);
    expect((await bind(0x7fff, 1)).code).toBe(400);
    expect((await bind(0x4000, 1)).code).toBe(0);
    expect((await bind(0x4000, 1)).code).toBe(0); // refresh
    expect((await bind(0x4000, 2)).code).toBe(400);
    expect((await bind(0x4001, 1)).code).toBe(400);
  });

  it('keeps an expired channel number and peer from other bindings for 5 minutes (RFC 8656 §12)', async () => {
    const h = createHarness({ lifetimes: { allocationDefaultSeconds: 3600, nonceSeconds: 3600 } });
    const c = h.client();
    await c.allocate();
    const bind = (channel: number, port: number) =>
      c.request(StunMethod.channelBind, (id) => [
        [Attr.channelNumber, encodeChannelNumber(channel)],
        [Attr.xorPeerAddress, encodeXorAddress({ ip: PUBLIC_PEER, port }, id)],
      ]);
    expect((await bind(0x4000, 1)).code).toBe(0);
    h.advance(601_000); // expired
    expect(h.table.get(c.link.key)!.channelCount(h.now())).toBe(0);
    expect((await bind(0x4000, 2)).code).toBe(400); // number still cooling down
    expect((await bind(0x4001, 1)).code).toBe(400); // peer still cooling down
    h.advance(300_000);
    expect((await bind(0x4000, 2)).code).toBe(0);
  });

  it('requires an allocation (437) for CreatePermission without one', async () => {
    const h = createHarness();
    expect((await h.client().createPermission(PUBLIC_PEER)).code).toBe(437);
  });
});
