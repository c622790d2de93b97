import { describe, expect, it } from 'vitest';
import { Presence } from '../../../broker/presence.js';
import { silentLogger } from '../../../core/log.js';

const T0 = Date.parse('2026-12-06T10:00:00.000Z');

function presence(now = () => T0) {
  const published: Array<{ topic: string; payload: string }> = [];
  const changes: Array<[string, boolean]> = [];
  const registry = new Map<string, boolean>();
  const p = new Presence(
    { record: (id: string, online: boolean) => registry.set(id, online) },
    'lookout',
    (topic, payload) => published.push({ topic, payload }),
    silentLogger(),
    (id, online) => changes.push([id, online]),
    now,
  );
  return { p, published, changes, registry };
}

describe('Presence', () => {
  it('records offline statuses at start without publishing, and serves them to a new subscription', () => {
    const { p, published } = presence();
    p.announceOffline(['cam1', 'cam2']);
    expect(published).toEqual([]);
    expect(p.retainedFor('lookout/cam1/status')).toEqual([
      {
        topic: 'lookout/cam1/status',
        payload: JSON.stringify({ online: false, at: '2026-12-06T10:00:00.000Z' }),
      },
    ]);
    expect(p.retainedFor('lookout/+/status').map((m) => m.topic)).toEqual([
      'lookout/cam1/status',
      'lookout/cam2/status',
    ]);
    expect(p.retainedFor('lookout/cam3/status')).toEqual([]);
    expect(p.retainedFor('lookout/cam1/down/#')).toEqual([]);
  });

  it('publishes each change live, records it in the registry, and serves the latest as retained', () => {
    let now = T0;
    const { p, published, changes, registry } = presence(() => now);
    p.announceOffline(['cam1']);
    now += 1500;
    p.deviceConnected('cam1');
    expect(published).toEqual([
      { topic: 'lookout/cam1/status', payload: '{"online":true,"at":"2026-12-06T10:00:01.500Z"}' },
    ]);
    expect(p.retainedFor('lookout/cam1/#')[0]!.payload).toBe(published[0]!.payload);
    expect(registry.get('cam1')).toBe(true);
    p.deviceDisconnected('cam1');
    p.deviceDisconnected('cam1'); // once only
    expect(changes).toEqual([
      ['cam1', true],
      ['cam1', false],
    ]);
    expect(JSON.parse(p.retainedFor('lookout/cam1/status')[0]!.payload).online).toBe(false);
  });

  it("a device's own filter finds its status among 10,000 and a service filter finds all", () => {
    const { p } = presence();
    const ids = Array.from({ length: 10_000 }, (_, i) => `cam-${i}`);
    p.announceOffline(ids);
    p.deviceConnected('cam-4242');
    expect(p.retainedFor('lookout/cam-4242/#')).toEqual([
      { topic: 'lookout/cam-4242/status', payload: '{"online":true,"at":"2026-12-06T10:00:00.000Z"}' },
    ]);
    expect(p.retainedFor('lookout/+/status')).toHaveLength(10_000);
    expect(p.retainedFor('lookout/+/up/#')).toEqual([]);
  });
});

describe('Presence.status', () => {
  it('answers the current state and the time of its change, undefined before any', () => {
    let now = T0;
    const { p } = presence(() => now);
    expect(p.status('cam1')).toBeUndefined();
    p.deviceConnected('cam1');
    expect(p.status('cam1')).toEqual({ online: true, at: T0 });
    now += 2000;
    p.deviceDisconnected('cam1');
    expect(p.status('cam1')).toEqual({ online: false, at: T0 + 2000 });
    p.statusSeen('cam2', JSON.stringify({ online: true, at: '2026-12-06T10:00:05.000Z' }));
    expect(p.status('cam2')).toEqual({ online: true, at: T0 + 5000 });
  });
});
