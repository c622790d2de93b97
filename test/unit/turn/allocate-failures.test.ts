import { describe, expect, it } from 'vitest';
import { encodeUint32 } from '../../../turn/attributes.js';
import { Attr, createHarness } from './core-harness.js';

/**
 * An Allocate that fails after its quota place was reserved must give the place back and
 * close what it opened; otherwise the 5-tuple stays "pending" (later Allocates are
 * swallowed) and the device's quota and the relay ports leak.
 */
describe('Allocate failures release what they took', () => {
  it('answers a malformed LIFETIME with a signed 400 before reserving or binding anything', async () => {
    const h = createHarness({ maxPerDevice: 1 });
    const c = h.client('cam1', 1);
    for (let i = 0; i < 3; i++) {
      const reply = await c.allocate([[Attr.lifetime, Buffer.alloc(2)]]);
      expect([reply.code, reply.integrityOk]).toEqual([400, true]);
    }
    expect([h.table.isPending(c.link.key), h.relays.length]).toEqual([false, 0]);
    // The same 5-tuple and the device's only quota place are still usable.
    const ok = await c.allocate([[Attr.lifetime, encodeUint32(1200)]]);
    expect([ok.code, h.table.size]).toEqual([0, 1]);
  });

  it('closes the relay sockets and gives the places back when a later step throws', async () => {
    const h = createHarness({ maxPerDevice: 2 });
    const open = h.ctx.openRelay.bind(h.ctx);
    h.ctx.openRelay = async (request) => {
      const sockets = await open(request);
      sockets!.relay.receive = () => {
        throw new Error('relay socket broke');
      };
      return sockets;
    };
    const c = h.client('cam1', 1);
    await expect(c.allocate([[Attr.evenPort, Buffer.from([0x80, 0, 0, 0])]])).rejects.toThrow('no reply');
    expect(h.relays.map((r) => r.closed)).toEqual([true, true]); // the relay and its reserved neighbour
    expect([h.table.isPending(c.link.key), h.table.size, h.ctx.counters.malformed]).toEqual([false, 0, 1]);
    h.ctx.openRelay = open;
    expect((await c.allocate([[Attr.evenPort, Buffer.from([0x80, 0, 0, 0])]])).code).toBe(0);
  });

  it('gives the place back when binding the relay fails', async () => {
    const h = createHarness({ maxPerDevice: 1 });
    const open = h.ctx.openRelay.bind(h.ctx);
    h.ctx.openRelay = () => Promise.reject(new Error('EMFILE'));
    const c = h.client('cam1', 1);
    await expect(c.allocate()).rejects.toThrow('no reply');
    h.ctx.openRelay = open;
    expect((await c.allocate()).code).toBe(0);
  });
});

describe('Allocate racing a revocation', () => {
  it('refuses (403) and closes an allocation whose device was revoked while its relay was binding', async () => {
    const h = createHarness();
    const open = h.ctx.openRelay.bind(h.ctx);
    h.ctx.openRelay = async (request) => {
      const sockets = await open(request);
      // What revokeDevice() does meanwhile: the device is refused from now on, and its
      // allocations in the table end (this one is not in the table yet).
      h.revoked.add('cam1');
      h.table.removeWhere((a) => a.deviceId === 'cam1', 'revoked');
      return sockets;
    };
    const reply = await h.client('cam1', 1).allocate();
    expect([reply.code, reply.integrityOk]).toEqual([403, true]);
    expect([h.table.size, h.table.isPending('udp:198.51.100.7:1'), h.relays[0]!.closed]).toEqual([
      0,
      false,
      true,
    ]);
  });
});
