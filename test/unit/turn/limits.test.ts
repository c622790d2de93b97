import { describe, expect, it } from 'vitest';
import { encodeChannelNumber, encodeXorAddress } from '../../../turn/attributes.js';
import { Attr, createHarness, type FakeClient, StunMethod } from './core-harness.js';

/** `count` public peers 8.<k>.x.y, distinct per `k`. */
function peers(k: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `8.${k}.${i >> 8}.${i & 255}`);
}

function permit(c: FakeClient, ips: string[]) {
  return c.request(StunMethod.createPermission, (id) =>
    ips.map((ip): [number, Buffer] => [Attr.xorPeerAddress, encodeXorAddress({ ip, port: 1 }, id)]),
  );
}

function bind(c: FakeClient, channel: number, ip: string, port: number) {
  return c.request(StunMethod.channelBind, (id) => [
    [Attr.channelNumber, encodeChannelNumber(channel)],
    [Attr.xorPeerAddress, encodeXorAddress({ ip, port }, id)],
  ]);
}

describe('bounds on permissions and channels (RFC 8656 §10.2, §11.2: 508 at a capacity limit)', () => {
  it('refuses a CreatePermission with more than 32 peers, installing none', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    const tooMany = await permit(c, peers(0, 33));
    expect([tooMany.code, tooMany.integrityOk]).toEqual([508, true]);
    expect(h.table.get(c.link.key)!.permissionCount).toBe(0);
    expect((await permit(c, peers(0, 32))).code).toBe(0);
  });

  it('holds at most 256 permissions per allocation; refreshing them still works', async () => {
    const h = createHarness();
    const c = h.client();
    await c.allocate();
    for (let k = 0; k < 8; k++) expect((await permit(c, peers(k, 32))).code).toBe(0);
    const allocation = h.table.get(c.link.key)!;
    expect(allocation.permissionCount).toBe(256);
    expect((await permit(c, [...peers(0, 31), '9.9.9.9'])).code).toBe(508); // all or none
    expect((await bind(c, 0x4000, '9.9.9.9', 1)).code).toBe(508); // a ChannelBind's permission too
    expect((await permit(c, peers(3, 32))).code).toBe(0);
    expect((await bind(c, 0x4000, '8.3.0.1', 1)).code).toBe(0);
    expect(allocation.permissionCount).toBe(256);
    h.advance(301_000); // the permissions lapse and make room
    expect((await permit(c, ['9.9.9.9'])).code).toBe(0);
  });

  it('holds a bounded number of channels, counting those cooling down', async () => {
    const h = createHarness({
      limits: { channelsPerAllocation: 3 },
      lifetimes: { allocationDefaultSeconds: 3600, nonceSeconds: 3600 },
    });
    const c = h.client();
    await c.allocate();
    for (let i = 0; i < 3; i++) expect((await bind(c, 0x4000 + i, '8.8.8.8', 1000 + i)).code).toBe(0);
    expect((await bind(c, 0x4003, '8.8.8.8', 1003)).code).toBe(508);
    expect((await bind(c, 0x4001, '8.8.8.8', 1001)).code).toBe(0); // a refresh
    h.advance(601_000); // expired, cooling down: the numbers are still held
    expect((await bind(c, 0x4003, '8.8.8.8', 1003)).code).toBe(508);
    h.advance(300_000);
    expect((await bind(c, 0x4003, '8.8.8.8', 1003)).code).toBe(0);
  });
});
