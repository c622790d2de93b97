import { describe, expect, it } from 'vitest';
import { getAttribute } from '../../../turn/stun-message.js';
import { Attr, createHarness } from './core-harness.js';

const EVEN_PORT_R: [number, Buffer] = [Attr.evenPort, Buffer.from([0x80, 0, 0, 0])];

/** Reserved ports (EVEN-PORT with R) are relay sockets too: they count against the quotas. */
describe('quotas count reserved ports (RFC 8656 §7.2: 486 per user, 508 in total)', () => {
  it('keeps a device from piling up reserved sockets with Allocate(EVEN-PORT R) + Refresh(0)', async () => {
    const h = createHarness({ maxPerDevice: 4 });
    const codes: number[] = [];
    for (let port = 1; port <= 20; port++) {
      const c = h.client('cam1', port);
      const reply = await c.allocate([EVEN_PORT_R]);
      codes.push(reply.code);
      if (reply.code === 0) await c.refresh(0);
    }
    // 2 places each (allocation + reserved port); the allocation's goes back on Refresh(0).
    expect(codes.slice(0, 4)).toEqual([0, 0, 0, 486]);
    expect(new Set(codes.slice(3))).toEqual(new Set([486]));
    expect([h.ctx.reservations.size, h.relays.filter((r) => !r.closed).length]).toEqual([3, 3]);
    h.advance(31_000); // reservations lapse and give their places back
    expect((await h.client('cam1', 99).allocate([EVEN_PORT_R])).code).toBe(0);
  });

  it('refuses EVEN-PORT with R to a device with one place left, and counts reservations in the total', async () => {
    const one = createHarness({ maxPerDevice: 1 });
    expect((await one.client('cam1', 1).allocate([EVEN_PORT_R])).code).toBe(486);
    expect(one.relays).toHaveLength(0);
    expect((await one.client('cam1', 2).allocate()).code).toBe(0);

    const total = createHarness({ maxAllocations: 3 });
    expect((await total.client('cam1', 1).allocate([EVEN_PORT_R])).code).toBe(0); // 2 places
    expect((await total.client('cam2', 2).allocate()).code).toBe(0); // 3
    expect((await total.client('cam3', 3).allocate()).code).toBe(508);
  });

  it("moves a reservation's place to the allocation that claims its token", async () => {
    const h = createHarness({ maxPerDevice: 3 });
    const rtp = await h.client('cam1', 1).allocate([EVEN_PORT_R]);
    const token = getAttribute(rtp.message, Attr.reservationToken)!;
    expect((await h.client('cam1', 2).allocate([[Attr.reservationToken, token]])).code).toBe(0); // still 2
    expect((await h.client('cam1', 3).allocate()).code).toBe(0);
    expect((await h.client('cam1', 4).allocate()).code).toBe(486);
    expect([h.table.size, h.ctx.reservations.size]).toEqual([3, 0]);
  });

  it('lets a device at its quota claim its own reserved port', async () => {
    const h = createHarness({ maxPerDevice: 2 });
    const rtp = await h.client('cam1', 1).allocate([EVEN_PORT_R]);
    const token = getAttribute(rtp.message, Attr.reservationToken)!;
    expect((await h.client('cam1', 2).allocate([[Attr.reservationToken, token]])).code).toBe(0);
    expect(h.table.size).toBe(2);
  });
});
