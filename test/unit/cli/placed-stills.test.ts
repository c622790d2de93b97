import { describe, expect, it } from 'vitest';
import { placedKeyframes } from '../../../cli/placed-stills.js';
import { LookoutError } from '../../../core/errors.js';
import type { StillKeyframeSource } from '../../../recordings/stills.js';

describe('placedKeyframes', () => {
  const frame = { seq: 1, workerId: 0, ageMs: 10, annexB: Buffer.from([0, 0, 0, 1, 0x65]) };
  const source = () => {
    const woken: string[] = [];
    const keyframes: StillKeyframeSource = {
      latest: async () => frame,
      wake: async (cameraId) => {
        woken.push(cameraId);
        return frame;
      },
    };
    return { keyframes, woken };
  };
  const places: Record<string, () => Promise<{ at: string }>> = {
    here: async () => ({ at: 'here' }),
    elsewhere: async () => ({ at: 'node' }),
    gone: async () => ({ at: 'unavailable' }),
    'redis-away': async () => {
      throw new LookoutError('REDIS_UNAVAILABLE', 'Redis lease failed');
    },
  };
  const routing = { route: (camera: string) => places[camera]!() };

  it('wakes a camera only where its media may live: held here, or taken now', async () => {
    const { keyframes, woken } = source();
    const placed = placedKeyframes(keyframes, routing);
    expect(await placed.wake('here', { timeoutMs: 1000 })).toBe(frame);
    for (const camera of ['elsewhere', 'gone', 'redis-away'])
      expect(await placed.wake(camera, { timeoutMs: 1000 })).toBeUndefined();
    expect(woken).toEqual(['here']);
    // The latest keyframe is this node's, whatever the placement.
    expect(await placed.latest('elsewhere')).toBe(frame);
  });
});
