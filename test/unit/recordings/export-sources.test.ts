import { describe, expect, it } from 'vitest';
import type { Segment } from '../../../devices/index.js';
import { planSources } from '../../../recordings/export-sources.js';

const limits = { maxWritingBytes: 10_000, maxRemoteBytes: 1_000_000 };

function segment(id: number, node: string, startMs: number, state: Segment['state'] = 'complete'): Segment {
  return {
    id,
    deviceId: 'cam1',
    node,
    startMs,
    endMs: state === 'writing' ? null : startMs + 1_000,
    durationMs: state === 'writing' ? null : 1_000,
    bytes: state === 'writing' ? 0 : 5_000,
    videoCodec: 'h264',
    audioCodec: null,
    path: `cam1/s-${id}.mp4`,
    state,
  };
}

const urls = new Map<string, string | undefined>([
  ['node-b', 'http://10.0.0.12:8080'],
  ['node-c', undefined],
]);

describe('where an export across nodes reads each segment (D40)', () => {
  it("takes this node's segments from disk and fetches the others' from their live holder, oldest first", () => {
    const sources = planSources(
      [segment(3, 'node-b', 3_000, 'writing'), segment(2, 'node-a', 2_000), segment(1, 'node-b', 1_000)],
      'node-a',
      urls,
      limits,
    );
    expect(sources.local.map((s) => s.id)).toEqual([2]);
    expect(sources.remote.map((p) => [p.segment.id, p.url, p.maxBytes])).toEqual([
      [1, 'http://10.0.0.12:8080', 5_000 + 65_536],
      // Still being written there: its size in the index is not final, the writing bound applies.
      [3, 'http://10.0.0.12:8080', 10_000],
    ]);
    expect(sources.unavailable).toEqual([]);
  });

  it('leaves out the segments of nodes not in the cluster and names them', () => {
    const sources = planSources(
      [segment(1, 'node-c', 1_000), segment(2, 'node-a', 2_000), segment(3, '', 3_000)],
      'node-a',
      urls,
      limits,
    );
    expect(sources.local.map((s) => s.id)).toEqual([2]);
    expect(sources.remote).toEqual([]);
    expect(sources.unavailable).toEqual(['', 'node-c']);
  });

  it('is NODE_UNAVAILABLE when every recorded segment of the range is on a node that is down', () => {
    expect(() => planSources([segment(1, 'node-c', 1_000)], 'node-a', urls, limits)).toThrowError(
      expect.objectContaining({ code: 'NODE_UNAVAILABLE', details: { nodes: ['node-c'] } }),
    );
  });

  it('drops what cannot play wherever it is: missing files, empty segments', () => {
    const empty = { ...segment(2, 'node-b', 2_000), durationMs: 0 };
    const sources = planSources(
      [segment(1, 'node-c', 1_000, 'missing'), empty, segment(3, 'node-a', 3_000)],
      'node-a',
      urls,
      limits,
    );
    expect(sources.local.map((s) => s.id)).toEqual([3]);
    expect(sources.remote).toEqual([]);
    // A missing segment does not make its node count as needed.
    expect(sources.unavailable).toEqual([]);
  });

  it('refuses a range needing more bytes from other nodes than the bound (EXPORT_TOO_LARGE)', () => {
    const many = Array.from({ length: 20 }, (_, i) => segment(i + 1, 'node-b', i * 1_000));
    expect(() =>
      planSources(many, 'node-a', urls, { maxWritingBytes: 10_000, maxRemoteBytes: 100_000 }),
    ).toThrowError(expect.objectContaining({ code: 'EXPORT_TOO_LARGE' }));
    expect(planSources(many, 'node-a', urls, { ...limits, maxRemoteBytes: 2_000_000 }).remote).toHaveLength(
      20,
    );
  });

  it('leaves nothing to fetch on a single host', () => {
    const sources = planSources([segment(1, 'here', 1_000)], 'here', new Map(), limits);
    expect(sources).toEqual({ local: [expect.objectContaining({ id: 1 })], remote: [], unavailable: [] });
  });
});
