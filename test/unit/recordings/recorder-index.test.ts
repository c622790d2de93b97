import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/log.js';
import { openRegistry, type RecordingStore, type Registry } from '../../../devices/index.js';
import { RecorderIndex } from '../../../recordings/recorder-index.js';
import { fuzzRandom } from '../../helpers/random.js';
import { tempDir } from '../../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function registry(): Promise<Registry> {
  const tmp = tempDir();
  cleanups.push(tmp.remove);
  const reg = await openRegistry({ dataDir: tmp.dir });
  cleanups.push(() => reg.close());
  return reg;
}

/**
 * A real (SQLite) recordings store whose every call answers after a random delay, as a
 * database on the network may: the index must still apply the recorder's writes in order.
 */
function laggy(store: RecordingStore, seed: number): RecordingStore {
  const random = fuzzRandom(seed);
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, random.int(4)));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const SESSION = { stamp: '20260101T000000Z', video: 'h264' as const, audio: undefined };

describe('RecorderIndex over a registry that answers later', () => {
  it('closes each gap after opening it and finishes each segment after indexing it, in order', async () => {
    const reg = await registry();
    const index = new RecorderIndex(laggy(reg.recordings, 5), 'cam1', silentLogger(), () => 0, 'here');
    // What a recorder does in a burst of callbacks, without waiting for the registry.
    index.openGap('camera-offline', 1_000);
    const first = index.openSegment(SESSION, 0, 2_000);
    index.closeGap(2_000);
    const end = index.finishSegment(first, 2_000, 4_000, 100);
    const second = index.openSegment(SESSION, 1, end);
    index.openGap('recorder-fault', 7_000);
    index.finishSegment(second, end, 1_000, 50);
    index.closeGap(9_000);
    index.openGap('camera-offline', 9_500);
    await index.idle();

    expect(end).toBe(6_000);
    const segments = await reg.recordings.between('cam1', 0, 1e13);
    expect(segments.map((s) => [s.startMs, s.endMs, s.state, s.bytes])).toEqual([
      [2_000, 6_000, 'complete', 100],
      [6_000, 7_000, 'complete', 50],
    ]);
    const gaps = await reg.recordings.gapsBetween('cam1', 0, 1e13);
    expect(gaps.map((g) => [g.startMs, g.endMs, g.reason])).toEqual([
      [1_000, 2_000, 'camera-offline'],
      [7_000, 9_000, 'recorder-fault'],
      [9_500, null, 'camera-offline'],
    ]);
    expect(index.gapReason).toBe('camera-offline');
    expect(index.deferred).toBe(0);
    expect(await index.lastEnd()).toBe(7_000);
  });

  it('keeps failed writes and makes them once the registry answers again', async () => {
    const reg = await registry();
    let down = false;
    const store = new Proxy(reg.recordings, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (down) throw Object.assign(new Error('down'), { code: 'REGISTRY_UNAVAILABLE' });
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const index = new RecorderIndex(store, 'cam1', silentLogger(), () => 0, 'here');
    index.openGap('camera-offline', 1_000);
    await index.idle();
    down = true;
    index.closeGap(2_000); // fails: kept
    index.openGap('disk-full', 3_000); // fails: kept as the open gap without a row
    await index.idle();
    expect(index.deferred).toBe(1);
    down = false;
    await index.retryAll('/nonexistent');
    expect(index.deferred).toBe(0);
    const gaps = await reg.recordings.gapsBetween('cam1', 0, 1e13);
    expect(gaps.map((g) => [g.startMs, g.endMs, g.reason])).toEqual([
      [1_000, 2_000, 'camera-offline'],
      [3_000, null, 'disk-full'],
    ]);
  });
});
