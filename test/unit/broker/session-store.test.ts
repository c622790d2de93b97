import { describe, expect, it } from 'vitest';
import { type SessionLimitHit, SessionStore } from '../../../broker/session-store.js';

function setup(overrides = {}) {
  const hits: Array<[string, SessionLimitHit]> = [];
  const store = new SessionStore(
    { maxInflightQos2: 3, maxQueuedMessages: 4, maxQueuedBytes: 1000, maxStoredBytes: 1500, ...overrides },
    (clientId, hit) => hits.push([clientId, hit]),
  );
  return { store, hits };
}

const publish = (counter: number, bytes = 10) => ({
  cmd: 'publish',
  topic: 'lookout/cam1/down/signal',
  payload: Buffer.alloc(bytes),
  qos: 1,
  brokerId: 'b',
  brokerCounter: counter,
});

describe('SessionStore outgoing queue', () => {
  it('stores up to maxQueuedMessages per client, then refuses and reports', () => {
    const { store, hits } = setup();
    for (let i = 1; i <= 6; i++) store.enqueue('cam1', publish(i));
    expect(store.stats('cam1').queuedMessages).toBe(4);
    expect(store.queued('cam1').map((p) => p.brokerCounter)).toEqual([1, 2, 3, 4]);
    expect(hits).toEqual([
      ['cam1', 'queue'],
      ['cam1', 'queue'],
    ]);
    expect(store.enqueue('cam2', publish(7))).toBe(true); // others unaffected
  });

  it('bounds bytes per client and in all', () => {
    const { store, hits } = setup({ maxQueuedMessages: 100 });
    expect(store.enqueue('a', publish(1, 900))).toBe(true);
    expect(store.enqueue('a', publish(2, 200))).toBe(false); // 1100 > 1000 for a
    expect(store.enqueue('b', publish(3, 500))).toBe(true);
    expect(store.enqueue('c', publish(4, 200))).toBe(false); // 1600 > 1500 in all
    expect(hits.map(([, hit]) => hit)).toEqual(['queue-bytes', 'stored-bytes']);
    expect(store.stats().storedBytes).toBe(1400);
  });

  it('assigns identifiers, acknowledges, replaces by PUBREL and releases bytes', () => {
    const { store } = setup();
    store.enqueue('cam1', publish(1, 100));
    store.enqueue('cam1', publish(2, 100));
    expect(store.queued('cam1')[0]!.messageId).toBeUndefined();
    store.update('cam1', { ...publish(1), messageId: 11 });
    store.update('cam1', { ...publish(2), messageId: 12 });
    // QoS 2: PUBREC answered with PUBREL, stored in place of the PUBLISH (no payload).
    store.update('cam1', { cmd: 'pubrel', messageId: 12 });
    expect(store.stats('cam1')).toMatchObject({ queuedMessages: 2, storedBytes: 100 });
    expect(store.clearMessageId('cam1', { messageId: 11 })?.brokerCounter).toBe(1);
    expect(store.clearMessageId('cam1', { messageId: 12 })?.cmd).toBe('pubrel');
    expect(store.clearMessageId('cam1', { messageId: 12 })).toBeUndefined();
    expect(store.stats()).toEqual({ queuedMessages: 0, storedBytes: 0, inflightQos2: 0 });
    expect(() => store.update('cam1', { ...publish(9), messageId: 1 })).toThrow('no such packet');
  });

  it('keeps a copy per subscriber, so identifiers do not leak between clients', () => {
    const { store } = setup();
    const packet = publish(1);
    store.enqueue('a', packet);
    store.enqueue('b', packet);
    store.update('a', { ...packet, messageId: 5 });
    expect(store.queued('b')[0]!.messageId).toBeUndefined();
  });
});

describe('SessionStore inbound QoS 2', () => {
  it('bounds identifiers awaiting PUBREL per client id, whatever the connection', () => {
    const { store, hits } = setup();
    for (const id of [1, 2, 3]) store.storeIncoming('cam1', id);
    store.storeIncoming('cam1', 2); // a DUP of a stored one takes no new slot
    expect(() => store.storeIncoming('cam1', 4)).toThrow(
      expect.objectContaining({ code: 'MQTT_INFLIGHT_LIMIT' }),
    );
    expect(hits).toEqual([['cam1', 'inflight']]);
    expect(store.hasIncoming('cam1', 3)).toBe(true);
    expect(store.deleteIncoming('cam1', 3)).toBe(true);
    expect(store.deleteIncoming('cam1', 3)).toBe(false);
    store.storeIncoming('cam1', 4);
    store.cleanIncoming('cam1');
    expect(store.stats('cam1').inflightQos2).toBe(0);
  });

  it('forget() drops a client entirely and its bytes from the total', () => {
    const { store } = setup();
    store.enqueue('cam1', publish(1, 300));
    store.enqueue('cam2', publish(2, 100));
    store.storeIncoming('cam1', 1);
    store.forget('cam1');
    expect(store.stats('cam1')).toEqual({ queuedMessages: 0, storedBytes: 0, inflightQos2: 0 });
    expect(store.stats().storedBytes).toBe(100);
  });
});
