import type { Logger } from '../core/log.js';
import type { Allocation } from './allocation.js';

export type EndReason = 'expired' | 'refresh-0' | 'revoked' | 'client-closed' | 'server-closed';

/** Ports held under a RESERVATION-TOKEN, which count against the quotas like allocations. */
export interface HeldReservations {
  readonly size: number;
  countFor(deviceId: string): number;
}

/**
 * Every allocation of the server, keyed by the client's 5-tuple, with the quotas of
 * RFC 8656 §7.2 (486 per user, 508 in total). A quota place is a relay socket: an
 * allocation, one being set up, or a port reserved for a later Allocate (EVEN-PORT with R),
 * so a device cannot hold sockets beyond its quota by reserving them. Owns the allocations'
 * relay sockets: an allocation leaving the table always closes its relay socket.
 */
export class AllocationTable {
  readonly #byClient = new Map<string, Allocation>();
  /** UDP allocations by client port, then IP: the listener finds one with no key to build per packet. */
  readonly #byUdpClient = new Map<number, Map<string, Allocation>>();
  /** Allocations being set up (relay socket binding) and the places they hold. */
  readonly #pending = new Map<string, { deviceId: string; places: number }>();
  #pendingPlaces = 0;
  /** Places of allocations and pending ones per device (reservations are counted apart). */
  readonly #perDevice = new Map<string, number>();

  constructor(
    private readonly limits: { maxAllocations: number; maxAllocationsPerDevice: number },
    private readonly reservations: HeldReservations,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  get(clientKey: string): Allocation | undefined {
    return this.#byClient.get(clientKey);
  }

  /** The allocation of the UDP client `ip:port` (same as `get('udp:ip:port')`). */
  getUdp(ip: string, port: number): Allocation | undefined {
    return this.#byUdpClient.get(port)?.get(ip);
  }

  isPending(clientKey: string): boolean {
    return this.#pending.has(clientKey);
  }

  get size(): number {
    return this.#byClient.size;
  }

  values(): IterableIterator<Allocation> {
    return this.#byClient.values();
  }

  /**
   * Reserves `places` for a new allocation (2 when it also reserves the next port), or says
   * which quota refuses it.
   */
  reserve(clientKey: string, deviceId: string, places = 1): 'ok' | 'device-quota' | 'capacity' {
    const device = (this.#perDevice.get(deviceId) ?? 0) + this.reservations.countFor(deviceId);
    if (device + places > this.limits.maxAllocationsPerDevice) return 'device-quota';
    const total = this.#byClient.size + this.#pendingPlaces + this.reservations.size;
    if (total + places > this.limits.maxAllocations) return 'capacity';
    this.#pending.set(clientKey, { deviceId, places });
    this.#pendingPlaces += places;
    this.#perDevice.set(deviceId, (this.#perDevice.get(deviceId) ?? 0) + places);
    return 'ok';
  }

  /** Gives back a reservation whose allocation could not be made. */
  release(clientKey: string): void {
    const pending = this.#pending.get(clientKey);
    if (pending === undefined) return;
    this.#settle(clientKey, pending.places);
  }

  /**
   * Turns a reservation into a live allocation. A second place, if any, now belongs to the
   * port reserved with it (the caller added it to the reservations first).
   */
  add(allocation: Allocation): void {
    const pending = this.#pending.get(allocation.client.key);
    if (pending) this.#settle(allocation.client.key, pending.places - 1);
    this.#byClient.set(allocation.client.key, allocation);
    const { client } = allocation;
    if (client.transport === 'udp') {
      let ips = this.#byUdpClient.get(client.port);
      if (!ips) {
        ips = new Map();
        this.#byUdpClient.set(client.port, ips);
      }
      ips.set(client.ip, allocation);
    }
    if (!pending)
      this.#perDevice.set(allocation.deviceId, (this.#perDevice.get(allocation.deviceId) ?? 0) + 1);
    this.log.info(
      {
        device: allocation.deviceId,
        client: `${allocation.client.transport}:${allocation.client.ip}:${allocation.client.port}`,
        relay: `${allocation.relayedIp}:${allocation.relay.port}`,
        lifetimeSeconds: Math.round((allocation.expiresAt - this.now()) / 1000),
      },
      'allocation created',
    );
  }

  /** Ends an allocation: closes its relay socket and logs why. Idempotent. */
  remove(allocation: Allocation, reason: EndReason): void {
    if (this.#byClient.get(allocation.client.key) !== allocation) return;
    this.#byClient.delete(allocation.client.key);
    const { client } = allocation;
    if (client.transport === 'udp') {
      const ips = this.#byUdpClient.get(client.port);
      ips?.delete(client.ip);
      if (ips?.size === 0) this.#byUdpClient.delete(client.port);
    }
    this.#decrement(allocation.deviceId);
    allocation.relay.close();
    this.log.info(
      {
        device: allocation.deviceId,
        relay: `${allocation.relayedIp}:${allocation.relay.port}`,
        reason,
        seconds: Math.round((this.now() - allocation.createdAt) / 1000),
      },
      'allocation ended',
    );
  }

  /** Ends expired allocations and drops expired permissions and channels of the others. */
  sweep(): void {
    const now = this.now();
    for (const allocation of [...this.#byClient.values()]) {
      if (allocation.isExpired(now)) this.remove(allocation, 'expired');
      else allocation.prune(now);
    }
  }

  removeWhere(predicate: (allocation: Allocation) => boolean, reason: EndReason): number {
    const matching = [...this.#byClient.values()].filter(predicate);
    for (const allocation of matching) this.remove(allocation, reason);
    return matching.length;
  }

  /** Ends the pending state of `clientKey`, giving back `places` of its places. */
  #settle(clientKey: string, places: number): void {
    const pending = this.#pending.get(clientKey)!;
    this.#pending.delete(clientKey);
    this.#pendingPlaces -= pending.places;
    this.#decrement(pending.deviceId, places);
  }

  #decrement(deviceId: string, places = 1): void {
    if (places === 0) return;
    const count = (this.#perDevice.get(deviceId) ?? places) - places;
    if (count <= 0) this.#perDevice.delete(deviceId);
    else this.#perDevice.set(deviceId, count);
  }
}
