import { describe, expect, it } from 'vitest';
import { Allocation, type ClientLink, type RelaySocket } from '../../../turn/allocation.js';
import { AllocationTable } from '../../../turn/allocation-table.js';
import { testLogger } from '../../helpers/log.js';

const T0 = 1_700_000_000_000;
const relay: RelaySocket = { port: 50_000, send: () => {}, receive: () => {}, close: () => {} };

function link(transport: 'udp' | 'tcp', ip: string, port: number): ClientLink {
  const key = transport === 'udp' ? `udp:${ip}:${port}` : `tcp:${port}`;
  return { key, transport, ip, port, send: () => {}, isOpen: () => true };
}

function allocation(client = link('udp', '192.0.2.1', 4000), socket = relay): Allocation {
  return new Allocation(client, 'user', 'cam1', socket, '203.0.113.1', 'tx', 600, T0);
}

/** The per-packet lookups of the relay path (RFC 8656 §12): by channel, and by peer ip:port. */
describe('Allocation channel bindings', () => {
  it('finds a binding by channel and by peer, telling apart peers that share an IP or a port', () => {
    const a = allocation();
    expect(a.bindChannel(0x4000, '10.0.0.1', 5000, 600, T0)).toBe(true);
    expect(a.bindChannel(0x4001, '10.0.0.1', 5001, 600, T0)).toBe(true); // same IP, other port
    expect(a.bindChannel(0x4002, '10.0.0.2', 5000, 600, T0)).toBe(true); // same port, other IP
    expect(a.channelPeer(0x4001, T0)).toMatchObject({ channel: 0x4001, ip: '10.0.0.1', port: 5001 });
    expect([
      a.channelFor('10.0.0.1', 5000, T0),
      a.channelFor('10.0.0.1', 5001, T0),
      a.channelFor('10.0.0.2', 5000, T0),
      a.channelFor('10.0.0.2', 5001, T0),
      a.channelFor('10.0.0.3', 5000, T0),
    ]).toEqual([0x4000, 0x4001, 0x4002, undefined, undefined]);
    // RFC 8656 §12.2: a channel or a peer bound to something else is refused.
    expect(a.bindChannel(0x4000, '10.0.0.2', 5000, 600, T0)).toBe(false);
    expect(a.bindChannel(0x4003, '10.0.0.1', 5000, 600, T0)).toBe(false);
  });

  it('keeps the binding object (and its cached verdict) on refresh, and forgets it after the cool-down', () => {
    const a = allocation();
    a.bindChannel(0x4000, '10.0.0.1', 5000, 600, T0);
    const binding = a.channelPeer(0x4000, T0)!;
    binding.verdict.allowed = true;
    binding.verdict.until = T0 + 5000;
    expect(a.bindChannel(0x4000, '10.0.0.1', 5000, 600, T0 + 500_000)).toBe(true);
    expect(a.channelPeer(0x4000, T0 + 700_000)).toBe(binding);
    expect(binding.verdict).toEqual({ allowed: true, until: T0 + 5000 });
    const expired = T0 + 500_000 + 600_000;
    expect([a.channelPeer(0x4000, expired), a.bindingFor('10.0.0.1', 5000, expired)]).toEqual([
      undefined,
      undefined,
    ]);
    a.prune(expired + 299_000); // still cooling down: held, not rebindable to another peer
    expect(a.channelsHeld).toBe(1);
    expect(a.bindChannel(0x4001, '10.0.0.1', 5000, 600, expired + 299_000)).toBe(false);
    a.prune(expired + 300_000);
    expect(a.channelsHeld).toBe(0);
    expect(a.bindChannel(0x4001, '10.0.0.1', 5000, 600, expired + 300_000)).toBe(true);
    expect(a.channelFor('10.0.0.1', 5000, expired + 300_000)).toBe(0x4001);
  });

  it('shares one verdict slot per peer between its channel and the Send/Data paths, bounded in number', () => {
    const a = allocation();
    const slot = a.verdictSlot('10.0.0.1', 5000);
    expect(slot).toEqual({ allowed: false, until: 0 }); // never asked: expired
    a.bindChannel(0x4000, '10.0.0.1', 5000, 600, T0);
    expect(a.channelPeer(0x4000, T0)!.verdict).toBe(slot);
    expect(a.verdictSlot('10.0.0.1', 5000)).toBe(slot);
    expect(a.verdictSlot('10.0.0.1', 5001)).not.toBe(slot);
    // A peer spraying ports cannot grow the cache without bound: past 256 it starts over.
    for (let port = 1; port <= 300; port++) a.verdictSlot('10.0.0.9', port);
    expect(a.verdictSlot('10.0.0.1', 5000)).not.toBe(slot);
    expect(a.channelPeer(0x4000, T0)!.verdict).toBe(slot); // the binding keeps its own
  });
});

describe('AllocationTable.getUdp', () => {
  it('finds UDP allocations by client ip and port, as get() does by key, until removed', () => {
    const table = new AllocationTable(
      { maxAllocations: 10, maxAllocationsPerDevice: 10 },
      { size: 0, countFor: () => 0 },
      testLogger(),
      () => T0,
    );
    const closed: number[] = [];
    const socket = (port: number): RelaySocket => ({ ...relay, port, close: () => closed.push(port) });
    const a = allocation(link('udp', '192.0.2.1', 4000), socket(1));
    const b = allocation(link('udp', '192.0.2.2', 4000), socket(2));
    const c = allocation(link('udp', '192.0.2.1', 4001), socket(3));
    const tcp = allocation(link('tcp', '192.0.2.1', 4002), socket(4));
    for (const x of [a, b, c, tcp]) table.add(x);
    expect([
      table.getUdp('192.0.2.1', 4000),
      table.getUdp('192.0.2.2', 4000),
      table.getUdp('192.0.2.1', 4001),
      table.getUdp('192.0.2.1', 4002), // a TCP link is not a UDP 5-tuple
      table.get('udp:192.0.2.1:4000'),
    ]).toEqual([a, b, c, undefined, a]);
    table.remove(a, 'expired');
    table.remove(c, 'expired');
    expect([
      table.getUdp('192.0.2.1', 4000),
      table.getUdp('192.0.2.2', 4000),
      table.getUdp('192.0.2.1', 4001),
    ]).toEqual([undefined, b, undefined]);
    expect(closed).toEqual([1, 3]);
  });
});
