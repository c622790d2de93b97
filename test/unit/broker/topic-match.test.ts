import { describe, expect, it } from 'vitest';
import { canSubscribe, devicesOfFilter, type Identity, topicMatches } from '../../../broker/topics.js';
import { fuzzRandom } from '../../helpers/random.js';

const P = 'lookout';

describe('topicMatches (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['lookout/cam1/status', 'lookout/cam1/status', true],
    ['lookout/+/status', 'lookout/cam1/status', true],
    ['lookout/cam1/#', 'lookout/cam1/status', true],
    ['lookout/cam1/#', 'lookout/cam1', true], // [MQTT-4.7.1-2]: '#' includes the parent level
    ['#', 'lookout/cam1/status', true],
    ['+/+/+', 'lookout/cam1/status', true],
    ['lookout/+', 'lookout/cam1/status', false],
    ['lookout/cam1/status/#', 'lookout/cam1/status', true],
    ['lookout/cam2/status', 'lookout/cam1/status', false],
    ['lookout/cam1/down/#', 'lookout/cam1/status', false],
    ['lookout/cam1/status/x', 'lookout/cam1/status', false],
    ['lookout//status', 'lookout//status', true],
    ['lookout/+/status', 'lookout//status', true], // '+' matches an empty level
    ['#', '$SYS/broker', false], // [MQTT-4.7.2-1]
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
  ])('%s ~ %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('devicesOfFilter: how many statuses a SUBSCRIBE looks at', () => {
  it.each([
    ['lookout/cam1/status', { deviceId: 'cam1' }],
    ['lookout/cam1/#', { deviceId: 'cam1' }],
    ['+/cam1/status', { deviceId: 'cam1' }],
    ['lookout/+/status', 'all'],
    ['lookout/#', 'all'],
    ['#', 'all'],
    ['other/cam1/status', 'none'],
    ['lookout', 'none'],
    ['lookout/', 'none'],
  ])('%s -> %j', (filter, scope) => {
    expect(devicesOfFilter(P, filter)).toEqual(scope);
  });

  it('scopes every filter a device may subscribe to to that one device, and never misses a match', () => {
    // The linearity argument of the storm fix (issue 9, item 19): a device's SUBSCRIBE costs
    // one status lookup, whatever the number of registered devices.
    const random = fuzzRandom(19).next;
    const alphabet = ['lookout', 'cam1', 'cam2', '+', '#', '', 'up', 'down', 'status', 'signal'];
    const cam1: Identity = { kind: 'device', deviceId: 'cam1', generation: 1 };
    // Status topics of real devices (a device id is never empty).
    const topics = ['lookout/cam1/status', 'lookout/cam2/status', 'lookout/up/status'];
    let granted = 0;
    for (let i = 0; i < 20_000; i++) {
      const levels = Array.from(
        { length: 1 + Math.floor(random() * 5) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      );
      const filter = levels.join('/');
      const scope = devicesOfFilter(P, filter);
      if (canSubscribe(P, cam1, filter)) {
        granted++;
        expect(scope).toEqual({ deviceId: 'cam1' });
      }
      // Sound: whatever the scope leaves out cannot match.
      for (const topic of topics) {
        if (!topicMatches(filter, topic)) continue;
        const id = topic.split('/')[1]!;
        expect({
          filter,
          topic,
          found: scope === 'all' || (scope !== 'none' && scope.deviceId === id),
        }).toEqual({
          filter,
          topic,
          found: true,
        });
      }
    }
    expect(granted).toBeGreaterThan(100);
  });
});
