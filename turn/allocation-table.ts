import type { Logger } from '../core/log.js';
import type { Allocation } from './allocation.js';

export type EndReason = 'expired' | 'refresh-0' | 'revoked' | 'client-closed' | 'server-closed';

/**
 * Every allocation of the server, keyed by the client's 5-tuple, with the quotas of
 * RFC 8656 §7.2 (486 per user, 508 in total). Owns the allocations' relay sockets: an
 * allocation leaving the table always closes its relay socket.
 */
export class AllocationTable {
  readonly #byClient = new Map<string, Allocation>();
  /** Allocations being set up (relay socket binding), counted against the quotas. */
  readonly #pending = new Map<string, string>();
  readonly #perDevice = new Map<string, number>();

  constructor(
    private readonly limits: { maxAllocations: number; maxAllocationsPerDevice: number },
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  get(clientKey: string): Allocation | undefined {
    return this.#byClient.get(clientKey);
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

  /** Reserves a place for a new allocation, or says which quota refuses it. */
  reserve(clientKey: string, deviceId: string): 'ok' | 'device-quota' | 'capacity' {
    if ((this.#perDevice.get(deviceId) ?? 0) >= this.limits.maxAllocationsPerDevice) return 'device-quota';
    if (this.#byClient.size + this.#pending.size >= this.limits.maxAllocations) return 'capacity';
    this.#pending.set(clientKey, deviceId);
    this.#perDevice.set(deviceId, (this.#perDevice.get(deviceId) ?? 0) + 1);
    return 'ok';
  }

  /** Gives back a reservation whose allocation could not be made. */
  release(clientKey: string): void {
    const deviceId = this.#pending.get(clientKey);
    if (deviceId === undefined) return;
    this.#pending.delete(clientKey);
    this.#decrement(deviceId);
  }

  /** Turns a reservation into a live allocation. */
  add(allocation: Allocation): void {
    this.#pending.delete(allocation.client.key);
    this.#byClient.set(allocation.client.key, allocation);
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

  #decrement(deviceId: string): void {
    const count = (this.#perDevice.get(deviceId) ?? 1) - 1;
    if (count <= 0) this.#perDevice.delete(deviceId);
    else this.#perDevice.set(deviceId, count);
  }
}
