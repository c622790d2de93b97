import { describe, expect, it } from 'vitest';
import { DemandLinger, recorderPlan } from '../../../cluster/placement-choice.js';
import { fuzzRandom } from '../../helpers/random.js';

const node = (id: string, cameras: number, cpu = 0) => ({
  id,
  load: { cameras, viewers: 0, recordings: 0, cpu },
});

describe('recorderPlan (D39)', () => {
  it('gives a free camera to the least-loaded node', () => {
    const nodes = [node('a', 5), node('b', 2), node('c', 9)];
    expect(recorderPlan(['cam1'], nodes, 'b')).toEqual(['cam1']);
    expect(recorderPlan(['cam1'], nodes, 'a')).toEqual([]);
    expect(recorderPlan(['cam1'], nodes, 'c')).toEqual([]);
  });

  it('breaks ties by CPU, then by id', () => {
    expect(recorderPlan(['cam1'], [node('a', 1, 0.9), node('b', 1, 0.2)], 'b')).toEqual(['cam1']);
    expect(recorderPlan(['cam1'], [node('b', 1), node('a', 1)], 'a')).toEqual(['cam1']);
  });

  it('spreads a burst of free cameras over the nodes instead of piling them on one', () => {
    const nodes = [node('a', 0), node('b', 0), node('c', 3)];
    const free = Array.from({ length: 9 }, (_, i) => `cam${i}`);
    const a = recorderPlan(free, nodes, 'a');
    const b = recorderPlan(free, nodes, 'b');
    const c = recorderPlan(free, nodes, 'c');
    expect([a.length, b.length, c.length]).toEqual([4, 4, 1]);
  });

  it('takes nothing on a node missing from the list', () => {
    expect(recorderPlan(['cam1'], [node('a', 0)], 'z')).toEqual([]);
    expect(recorderPlan(['cam1'], [], 'z')).toEqual([]);
  });

  it('gives each free camera to exactly one node, whatever the loads (fuzzed)', () => {
    const random = fuzzRandom(3939);
    for (let round = 0; round < 300; round++) {
      const nodes = Array.from({ length: 1 + random.int(5) }, (_, i) =>
        node(`n${i}`, random.int(20), random.int(4) / 2),
      );
      const free = Array.from({ length: random.int(30) }, () => `cam${random.int(40)}`);
      const taken = nodes.flatMap((n) => recorderPlan(free, nodes, n.id));
      expect(taken.sort()).toEqual([...new Set(free)].sort());
    }
  });
});

describe('DemandLinger (D39)', () => {
  it('releases a held camera only after lingerMs without demand', () => {
    const linger = new DemandLinger(1000);
    const inUse = new Set(['cam1']);
    expect(linger.observe(['cam1'], inUse, 0)).toEqual([]);
    inUse.clear();
    expect(linger.observe(['cam1'], inUse, 100)).toEqual([]);
    expect(linger.observe(['cam1'], inUse, 1099)).toEqual([]);
    expect(linger.observe(['cam1'], inUse, 1100)).toEqual(['cam1']);
  });

  it('starts over when demand comes back within the linger', () => {
    const linger = new DemandLinger(1000);
    expect(linger.observe(['cam1'], new Set(), 0)).toEqual([]);
    expect(linger.observe(['cam1'], new Set(['cam1']), 900)).toEqual([]);
    expect(linger.observe(['cam1'], new Set(), 1000)).toEqual([]);
    expect(linger.observe(['cam1'], new Set(), 1999)).toEqual([]);
    expect(linger.observe(['cam1'], new Set(), 2000)).toEqual(['cam1']);
  });

  it('counts a claim as demand for lingerMs (the viewer being set up)', () => {
    const linger = new DemandLinger(1000);
    linger.claimed('cam1', 500);
    expect(linger.observe(['cam1'], new Set(), 1499)).toEqual([]);
    expect(linger.observe(['cam1'], new Set(), 1500)).toEqual(['cam1']);
    // A claim on a camera lingering out resets its clock.
    expect(linger.observe(['cam2'], new Set(), 0)).toEqual([]);
    linger.claimed('cam2', 900);
    expect(linger.observe(['cam2'], new Set(), 1000)).toEqual([]);
    expect(linger.observe(['cam2'], new Set(), 1900)).toEqual(['cam2']);
  });

  it('forgets cameras no longer held', () => {
    const linger = new DemandLinger(1000);
    expect(linger.observe(['cam1'], new Set(), 0)).toEqual([]);
    expect(linger.observe([], new Set(), 500)).toEqual([]);
    // Held again later: its idle time starts again.
    expect(linger.observe(['cam1'], new Set(), 1200)).toEqual([]);
    expect(linger.observe(['cam1'], new Set(), 2200)).toEqual(['cam1']);
    linger.claimed('cam3', 0);
    linger.forget('cam3');
    expect(linger.observe(['cam3'], new Set(), 10)).toEqual([]);
  });
});
