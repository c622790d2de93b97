import { describe, expect, it } from 'vitest';
import { encodeChannelNumber, encodeXorAddress } from '../../../turn/attributes.js';
import { encodeChannelData } from '../../../turn/channel-data.js';
import { StunClass, StunWriter } from '../../../turn/stun-message.js';
import { Attr, createHarness, StunMethod } from './core-harness.js';

const MEDIA = { ip: '127.0.0.1', port: 7000 };

/**
 * The allowPeer hook allows the media node's ICE sockets, loopback ports that come and go.
 * Its verdicts may be cached only briefly, and every path to a peer must consult them.
 */
describe('allowPeer verdicts expire (5 s) and guard ChannelData too', () => {
  it('stops relaying to and from a port the hook no longer allows, on every path', async () => {
    let mediaOwnsPort = true;
    let calls = 0;
    const h = createHarness({
      allowPeer: (ip, port) => {
        calls++;
        return mediaOwnsPort && ip === MEDIA.ip && port === MEDIA.port;
      },
    });
    const c = h.client();
    await c.allocate();
    const relay = h.relays[0]!;
    const bound = await c.request(StunMethod.channelBind, (id) => [
      [Attr.channelNumber, encodeChannelNumber(0x4000)],
      [Attr.xorPeerAddress, encodeXorAddress(MEDIA, id)],
    ]);
    expect(bound.code).toBe(0);
    const send = (text: string) => {
      const w = new StunWriter(StunMethod.send, StunClass.indication, Buffer.alloc(12, 5));
      w.add(Attr.xorPeerAddress, encodeXorAddress(MEDIA, w.transactionId));
      w.add(Attr.data, Buffer.from(text));
      c.core.handleClientPacket(c.link, w.encode());
    };
    const relayAll = (text: string) => {
      c.core.handleClientPacket(c.link, encodeChannelData(0x4000, Buffer.from(`${text}-channel`), false));
      send(`${text}-send`);
      relay.deliver(Buffer.from(`${text}-in`), MEDIA.ip, MEDIA.port);
    };
    const inboxBefore = c.inbox.length;
    for (let i = 0; i < 100; i++) relayAll('owned');
    expect(calls).toBe(1); // one hook call; the packets hit the cached verdict
    expect([relay.sent.length, c.inbox.length - inboxBefore]).toEqual([200, 100]);

    mediaOwnsPort = false; // the media node closed the socket; someone else may bind the port
    h.advance(5_001);
    relayAll('reused');
    expect([relay.sent.length, c.inbox.length - inboxBefore]).toEqual([200, 100]);

    mediaOwnsPort = true; // a refusal is not remembered for long either
    h.advance(5_001);
    relayAll('again');
    expect([relay.sent.length, c.inbox.length - inboxBefore]).toEqual([202, 101]);
  });
});
