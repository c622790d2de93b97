import { describe, expect, it } from 'vitest';
import {
  canPublish,
  canSubscribe,
  deviceOfTopic,
  deviceTopics,
  type Identity,
} from '../../../broker/topics.js';
import { fuzzRandom } from '../../helpers/random.js';

const P = 'lookout';
const cam1: Identity = { kind: 'device', deviceId: 'cam1', generation: 1 };
const svc: Identity = { kind: 'service', name: 'media' };

describe('device topic tree', () => {
  it('names the subtree', () => {
    expect(deviceTopics(P, 'cam1')).toEqual({
      root: 'lookout/cam1',
      status: 'lookout/cam1/status',
      down: 'lookout/cam1/down',
      up: 'lookout/cam1/up',
    });
    expect(deviceOfTopic(P, 'lookout/cam1/up/signal')).toBe('cam1');
    expect(deviceOfTopic(P, 'other/cam1/up')).toBeUndefined();
    expect(deviceOfTopic(P, 'lookout/cam1')).toBeUndefined();
  });
});

describe('publish ACL', () => {
  it.each([
    ['lookout/cam1/up/signal', true],
    ['lookout/cam1/up/events/motion', true],
    ['lookout/cam1/up', false],
    ['lookout/cam1/up/', false],
    ['lookout/cam1/status', false],
    ['lookout/cam1/down/signal', false],
    ['lookout/cam2/up/signal', false],
    ['lookout/cam10/up/signal', false],
    ['lookout/cam1x/up/signal', false],
    ['$SYS/broker', false],
    ['lookout/cam1/up/+', false],
    ['elsewhere', false],
  ])('device cam1 -> %s: %s', (topic, allowed) => {
    expect(canPublish(P, cam1, topic)).toBe(allowed);
  });

  it('lets services publish anywhere in the prefix, nowhere else', () => {
    expect(canPublish(P, svc, 'lookout/cam1/down/signal')).toBe(true);
    expect(canPublish(P, svc, 'lookout/cam1/status')).toBe(true);
    expect(canPublish(P, svc, 'other/x')).toBe(false);
    expect(canPublish(P, svc, '$SYS/x')).toBe(false);
  });
});

describe('subscribe ACL', () => {
  it.each([
    ['lookout/cam1/#', true],
    ['lookout/cam1/down/signal', true],
    ['lookout/cam1/+/signal', true],
    ['lookout/cam1/status', true],
    ['lookout/cam1', false],
    ['#', false],
    ['+/#', false],
    ['lookout/#', false],
    ['lookout/+/status', false],
    ['lookout/+/#', false],
    ['+/cam1/#', false],
    ['lookout/cam2/#', false],
    ['lookout/cam1#', false],
    ['lookout/cam1/a#', false],
    ['lookout/cam1/#/x', false],
    ['$SYS/#', false],
    ['', false],
  ])('device cam1 -> %s: %s', (filter, allowed) => {
    expect(canSubscribe(P, cam1, filter)).toBe(allowed);
  });

  it('never lets a device reach another device, for random filters', () => {
    const alphabet = ['lookout', 'cam1', 'cam2', '+', '#', '', 'up', 'down', 'status', '$SYS', 'cam1+', 'x#'];
    const random = fuzzRandom(81);
    for (let i = 0; i < 20_000; i++) {
      const levels = Array.from({ length: 1 + random.int(5) }, () => random.pick(alphabet));
      const filter = levels.join('/');
      if (canSubscribe(P, cam1, filter)) {
        const [first, second] = filter.split('/');
        expect(first).toBe('lookout');
        expect(second).toBe('cam1');
      }
      if (canPublish(P, cam1, filter)) expect(filter.startsWith('lookout/cam1/up/')).toBe(true);
    }
  });
});
