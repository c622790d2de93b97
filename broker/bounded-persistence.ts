import { Readable } from 'node:stream';
import type { SessionPacket, SessionStore } from './session-store.js';

/** The slice of an aedes persistence (aedes-persistence 11, promise style) this file replaces. */
interface ClientRef {
  id: string;
}

/**
 * Wraps the persistence aedes created so its per-client session state (outgoing queue,
 * inbound QoS 2 identifiers) lives in a bounded `SessionStore`; everything else
 * (subscriptions, retained messages, wills) goes to the wrapped persistence unchanged.
 * aedes reads `broker.persistence` on every use, so replacing it after `listen()` is enough.
 */
export function boundPersistence<T extends object>(inner: T, store: SessionStore): T {
  const overrides: Record<string, (...args: never[]) => unknown> = {
    outgoingEnqueue: async (sub: { clientId: string }, packet: SessionPacket) => {
      store.enqueue(sub.clientId, packet);
    },
    outgoingEnqueueCombi: async (subs: Array<{ clientId: string }>, packet: SessionPacket) => {
      // Never throws: a full queue must not fail the publisher, only that subscriber.
      for (const sub of subs) store.enqueue(sub.clientId, packet);
    },
    outgoingUpdate: async (client: ClientRef, packet: SessionPacket) => store.update(client.id, packet),
    outgoingClearMessageId: async (client: ClientRef, packet: SessionPacket) =>
      store.clearMessageId(client.id, packet),
    outgoingStream: (client: ClientRef) => Readable.from(store.queued(client.id)),
    incomingStorePacket: async (client: ClientRef, packet: SessionPacket) =>
      store.storeIncoming(client.id, packet.messageId ?? 0),
    incomingGetPacket: async (client: ClientRef, packet: SessionPacket) => {
      if (!store.hasIncoming(client.id, packet.messageId ?? 0)) throw new Error('no such packet');
      return { cmd: 'publish', messageId: packet.messageId };
    },
    incomingDelPacket: async (client: ClientRef, packet: SessionPacket) => {
      if (!store.deleteIncoming(client.id, packet.messageId ?? 0)) throw new Error('no such packet');
    },
    cleanIncoming: async (client: ClientRef) => store.cleanIncoming(client.id),
  };
  return new Proxy(inner, {
    get(target, prop, _receiver) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
