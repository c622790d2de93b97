import { describe, expect, it } from 'vitest';
import { type IncomingPacket, PacketQueue } from '../../../recordings/packet-queue.js';

let seq = 0;
/** A packet whose bytes name it (`v12`, `a13`) so order is visible. */
function packet(kind: 'video' | 'audio', timestamp: number, keyframeStart = false, at = 0): IncomingPacket {
  return { kind, bytes: Buffer.from(`${kind[0]}${seq++}`), keyframeStart, timestamp, at };
}
const names = (packets: Array<{ bytes: Buffer }>) => packets.map((p) => p.bytes.toString());

describe('PacketQueue (what a recorder holds while ffmpeg starts)', () => {
  it('while ffmpeg starts, keeps only what follows the latest keyframe; SPS, PPS and IDR of one keyframe stay together', () => {
    seq = 0;
    const queue = new PacketQueue();
    expect(queue.push(packet('video', 1000, true, 10), true)).toBe('queued'); // v0 SPS
    queue.push(packet('video', 1000, true, 10), true); // v1 IDR, same frame: not a new keyframe
    queue.push(packet('audio', 5), true); // a2
    queue.push(packet('video', 4000), true); // v3
    expect(queue.startsAt).toBe(10);
    expect(queue.push(packet('video', 90_000, true, 2000), true)).toBe('restarted'); // v4
    queue.push(packet('video', 90_000, true, 2000), true); // v5
    queue.push(packet('audio', 6), true); // a6
    expect(queue.startsAt).toBe(2000);
    expect(names(queue.take(100))).toEqual(['v4', 'v5', 'a6']);
    expect(queue.length).toBe(0);
  });

  it('once ffmpeg listens, drains in order in batches while new packets queue behind, keyframes included', () => {
    seq = 0;
    const queue = new PacketQueue();
    queue.push(packet('video', 0, true), true);
    for (let i = 1; i < 60; i++) queue.push(packet(i % 3 === 0 ? 'audio' : 'video', i * 100), true);
    const drained: string[] = [];
    let live = 0;
    while (queue.length > 0) {
      const batch = names(queue.take(25));
      expect(batch.length).toBeLessThanOrEqual(25);
      drained.push(...batch);
      // Live packets arrive between batches, a keyframe among them: it must not restart the queue.
      if (live < 4) queue.push(packet('video', 10_000 + live, live++ === 1), false);
    }
    const order = drained.map((n) => Number(n.slice(1)));
    expect(order).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('is bounded: past its limit it restarts at its latest keyframe, else drops until the next one', () => {
    seq = 0;
    const queue = new PacketQueue(10);
    queue.push(packet('video', 0, true, 1), false);
    for (let i = 1; i < 6; i++) queue.push(packet('video', i), false);
    queue.push(packet('video', 600, true, 7), false); // v6: a later keyframe inside the queue
    for (let i = 7; i < 10; i++) queue.push(packet('video', i * 100), false);
    expect(queue.length).toBe(10);
    expect(queue.push(packet('video', 1000), false)).toBe('overflow');
    expect(queue.startsAt).toBe(7);
    expect(names(queue.take(1))).toEqual(['v6']);

    // No keyframe to restart at: everything goes, and nothing is queued until a keyframe.
    const plain = new PacketQueue(5);
    plain.push(packet('video', 0, true), false);
    for (let i = 1; i < 5; i++) plain.push(packet('video', i), false);
    expect(plain.push(packet('video', 99), false)).toBe('overflow');
    expect(plain.length).toBe(0);
    expect(plain.push(packet('audio', 1), false)).toBe('dropped');
    expect(plain.push(packet('video', 100), false)).toBe('dropped');
    expect(plain.push(packet('video', 200, true, 50), false)).toBe('queued');
    expect(plain.startsAt).toBe(50);
  });

  it('holds at most its limit whatever it is fed (seeded random stream)', () => {
    let state = 42;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const queue = new PacketQueue(200);
    let timestamp = 0;
    for (let i = 0; i < 20_000; i++) {
      if (random() < 0.3) timestamp += 3000;
      queue.push(packet(random() < 0.2 ? 'audio' : 'video', timestamp, random() < 0.01), random() < 0.5);
      if (random() < 0.05) queue.take(Math.floor(random() * 50));
      expect(queue.length).toBeLessThanOrEqual(200);
    }
  });
});
