import { describe, expect, it } from 'vitest';
import { BatchPolicy } from '../../../media/held-socket.js';

// Whether a held camera's socket may pause between ticks (D42): the kernel must be able to queue
// a tick's datagrams, keyframe bursts included, without dropping.
describe('BatchPolicy', () => {
  const buffer = 400_000; // what the kernel reports (twice what it holds of payload); a tick may take 100 kB

  it('reads continuously at first, and batches once the ticks have shown they stay well under the buffer', () => {
    const policy = new BatchPolicy(buffer);
    const ticks: boolean[] = [];
    for (let i = 0; i < 60; i++) ticks.push(policy.tick(25_000));
    const first = ticks.indexOf(true);
    // It starts at a quarter of the buffer and halves in about 34 ticks (0.98 per tick).
    expect(first).toBeGreaterThan(30);
    expect(first).toBeLessThan(40);
    expect(ticks.slice(first).every(Boolean)).toBe(true);
  });

  it('reads continuously again after a tick over a quarter of the buffer, for some seconds, then batches again', () => {
    const policy = new BatchPolicy(buffer);
    for (let i = 0; i < 40; i++) policy.tick(10_000);
    expect(policy.tick(10_000)).toBe(true);
    expect(policy.tick(100_001)).toBe(false); // a burst over the bound
    const after: boolean[] = [];
    for (let i = 0; i < 10; i++) after.push(policy.tick(10_000));
    expect(after.every((batching) => !batching)).toBe(true); // still judged by the burst, decaying
    let ticks = 10;
    while (!policy.tick(10_000)) ticks++;
    expect(ticks).toBeGreaterThan(30);
    expect(ticks).toBeLessThan(40);
  });

  it('never batches a socket whose every tick fills a quarter of its buffer', () => {
    const policy = new BatchPolicy(buffer);
    for (let i = 0; i < 500; i++) expect(policy.tick(100_001)).toBe(false);
  });
});
