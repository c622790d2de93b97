import { LookoutError } from '../core/errors.js';

/**
 * The per-client session state aedes keeps in its persistence, bounded: socket-free and
 * synchronous, so it is tested without a broker.
 *
 * - Outgoing: QoS 1/2 messages for a persistent session (Clean Session 0), stored until the
 *   client acknowledges them or, while it is offline, until it returns (MQTT 3.1.1 §4.1).
 *   aedes-persistence's in-memory store keeps them without limit: a device that subscribes
 *   to its own topics at QoS 1 and never sends PUBACK grows it with every message.
 * - Incoming: QoS 2 PUBLISHes awaiting PUBREL (§4.3.3). Only the packet identifier is
 *   needed to recognise a duplicate (aedes asks nothing else of the store), so no payload
 *   is kept; the count is bounded per client id, across reconnects of a persistent session
 *   (aedes' own `maxInflightInbound` counts one connection only, so 1,000 withheld PUBRELs
 *   per reconnect piled up).
 */

export interface SessionLimits {
  maxInflightQos2: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  maxStoredBytes: number;
}

/** Which bound a message ran into. */
export type SessionLimitHit = 'inflight' | 'queue' | 'queue-bytes' | 'stored-bytes';

/** The fields of an aedes packet the store reads; the rest is carried along. */
export interface SessionPacket {
  cmd?: string;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  payload?: Buffer | string;
  qos?: number;
  [field: string]: unknown;
}

interface Queued {
  packet: SessionPacket;
  bytes: number;
}

interface Queue {
  entries: Queued[];
  bytes: number;
}

export class SessionStore {
  readonly #outgoing = new Map<string, Queue>();
  readonly #incoming = new Map<string, Set<number>>();
  #bytes = 0;

  constructor(
    private readonly limits: SessionLimits,
    private readonly onLimit: (clientId: string, hit: SessionLimitHit) => void,
  ) {}

  /** Stores a copy of `packet` for `clientId`; false (nothing stored) when a bound is reached. */
  enqueue(clientId: string, packet: SessionPacket): boolean {
    const bytes = payloadBytes(packet);
    const queue = this.#outgoing.get(clientId) ?? { entries: [], bytes: 0 };
    const hit: SessionLimitHit | undefined =
      queue.entries.length >= this.limits.maxQueuedMessages
        ? 'queue'
        : queue.bytes + bytes > this.limits.maxQueuedBytes
          ? 'queue-bytes'
          : this.#bytes + bytes > this.limits.maxStoredBytes
            ? 'stored-bytes'
            : undefined;
    if (hit) {
      this.onLimit(clientId, hit);
      return false;
    }
    // Each subscriber gets its own copy: aedes gives each its own packet identifier later
    // (outgoingUpdate), like aedes-persistence's `new Packet(packet)` [MQTT-2.3.1-1].
    const copy: SessionPacket = { ...packet };
    if ((copy.qos ?? 0) > 0 || copy.cmd !== 'publish') copy.messageId = undefined;
    queue.entries.push({ packet: copy, bytes });
    queue.bytes += bytes;
    this.#bytes += bytes;
    this.#outgoing.set(clientId, queue);
    return true;
  }

  /**
   * Records the packet identifier given to a stored message, or replaces a stored message by
   * its PUBREL (QoS 2 flow). Same matching as aedes-persistence; throws when nothing matches
   * (aedes then closes that client: what it tried to send was never stored).
   */
  update(clientId: string, packet: SessionPacket): void {
    const queue = this.#outgoing.get(clientId);
    for (const entry of queue?.entries ?? []) {
      const stored = entry.packet;
      if (stored.brokerId === packet.brokerId) {
        if (stored.brokerCounter === packet.brokerCounter) {
          stored.messageId = packet.messageId;
          return;
        }
      } else if (stored.messageId === packet.messageId) {
        const bytes = payloadBytes(packet);
        this.#account(queue!, bytes - entry.bytes);
        entry.packet = packet;
        entry.bytes = bytes;
        return;
      }
    }
    throw new LookoutError('MQTT_SESSION_NO_PACKET', 'no such packet', { clientId });
  }

  /** Removes the stored message with `packet`'s identifier (acknowledged); returns it. */
  clearMessageId(clientId: string, packet: SessionPacket): SessionPacket | undefined {
    const queue = this.#outgoing.get(clientId);
    if (!queue) return undefined;
    const i = queue.entries.findIndex((e) => e.packet.messageId === packet.messageId);
    if (i < 0) return undefined;
    const [entry] = queue.entries.splice(i, 1);
    this.#account(queue, -entry!.bytes);
    if (queue.entries.length === 0) this.#outgoing.delete(clientId);
    return entry!.packet;
  }

  /** A snapshot of what is stored for `clientId`, oldest first. */
  queued(clientId: string): SessionPacket[] {
    return (this.#outgoing.get(clientId)?.entries ?? []).map((e) => e.packet);
  }

  /** Remembers an inbound QoS 2 identifier; throws MQTT_INFLIGHT_LIMIT when the client has too many. */
  storeIncoming(clientId: string, messageId: number): void {
    const ids = this.#incoming.get(clientId) ?? new Set<number>();
    if (!ids.has(messageId) && ids.size >= this.limits.maxInflightQos2) {
      this.onLimit(clientId, 'inflight');
      throw new LookoutError(
        'MQTT_INFLIGHT_LIMIT',
        `more than ${this.limits.maxInflightQos2} QoS 2 messages awaiting PUBREL`,
        { clientId },
      );
    }
    ids.add(messageId);
    this.#incoming.set(clientId, ids);
  }

  hasIncoming(clientId: string, messageId: number): boolean {
    return this.#incoming.get(clientId)?.has(messageId) ?? false;
  }

  /** PUBREL arrived: forgets the identifier. False when it was not stored. */
  deleteIncoming(clientId: string, messageId: number): boolean {
    const ids = this.#incoming.get(clientId);
    if (!ids?.delete(messageId)) return false;
    if (ids.size === 0) this.#incoming.delete(clientId);
    return true;
  }

  cleanIncoming(clientId: string): void {
    this.#incoming.delete(clientId);
  }

  /** Drops everything stored for `clientId` (its session ended for good). */
  forget(clientId: string): void {
    const queue = this.#outgoing.get(clientId);
    if (queue) this.#bytes -= queue.bytes;
    this.#outgoing.delete(clientId);
    this.#incoming.delete(clientId);
  }

  /** Totals, for tests and metrics. */
  stats(clientId?: string): { queuedMessages: number; storedBytes: number; inflightQos2: number } {
    if (clientId !== undefined) {
      const queue = this.#outgoing.get(clientId);
      return {
        queuedMessages: queue?.entries.length ?? 0,
        storedBytes: queue?.bytes ?? 0,
        inflightQos2: this.#incoming.get(clientId)?.size ?? 0,
      };
    }
    let queuedMessages = 0;
    let inflightQos2 = 0;
    for (const q of this.#outgoing.values()) queuedMessages += q.entries.length;
    for (const ids of this.#incoming.values()) inflightQos2 += ids.size;
    return { queuedMessages, storedBytes: this.#bytes, inflightQos2 };
  }

  #account(queue: Queue, delta: number): void {
    queue.bytes += delta;
    this.#bytes += delta;
  }
}

/** The log line for a bound being hit (constant per kind, for RateLimitedLog's per-kind cap). */
export function limitMessage(hit: SessionLimitHit): string {
  switch (hit) {
    case 'inflight':
      return 'session limit: too many QoS 2 messages awaiting PUBREL; disconnecting';
    case 'stored-bytes':
      return 'session limit: all sessions together reached their byte bound; message not stored';
    default:
      return 'session limit: session queue full; message not stored for this client';
  }
}

function payloadBytes(packet: SessionPacket): number {
  const payload = packet.payload;
  if (payload === undefined) return 0;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}
