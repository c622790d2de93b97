import dgram from 'node:dgram';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdOf } from '../../config/index.js';
import { silentLogger } from '../../core/log.js';
import { openRegistry } from '../../devices/index.js';
import { freeUdpPorts } from '../../recordings/ports.js';
import type { Recorder } from '../../recordings/recorder.js';
import { Recorder as RecorderImpl } from '../../recordings/recorder.js';
import { launchSegmenter } from '../../recordings/recorder-launch.js';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

/** The node id a test server runs as (its host name): the index names it as the holder. */
const NODE = nodeIdOf({});

const haveTools = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);

/** Issue 9, item 7: how a recording starts and how a clean shutdown ends it. */
describe.skipIf(!haveTools)('starting and stopping a recording', () => {
  let t: TestServer;
  const recorders: Recorder[] = [];
  beforeAll(async () => {
    t = await startTestServer({ 'media.lingerMs': 0 });
    // A busier camera than the other tests: 1.5 Mbit/s, keyframes every 2 s, with sound.
    await t.startCamera('cam1', {
      video: { width: 640, height: 360, bitrateKbps: 1500, fps: 25, keyframeIntervalSeconds: 2 },
      audio: { codec: 'opus' },
    });
  }, 30_000);
  afterAll(async () => {
    await Promise.all(recorders.map((r) => r.close()));
    await t?.close();
  });

  const record = (deviceDir: string, ports: (count: number) => Promise<number>) => {
    const recorder = new RecorderImpl(t.server.media.feed('cam1'), {
      deviceId: 'cam1',
      dir: path.join(t.dataDir, deviceDir),
      segmentSeconds: 5,
      fragmentMs: 1000,
      store: t.server.registry.recordings,
      node: NODE,
      log: silentLogger(),
      ports,
    });
    recorders.push(recorder);
    return recorder;
  };

  it('when ffmpeg is slow to start, begins at the latest keyframe and its first segment decodes cleanly, with no fault gap', async () => {
    const startedAt = Date.now();
    // ffmpeg taking 3.5 s to start (a loaded machine): packets pile up meanwhile.
    let askedAt = 0;
    const recorder = record('slow', async (count) => {
      askedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3500));
      return freeUdpPorts(count);
    });
    const store = t.server.registry.recordings;
    const first = await waitFor(
      async () =>
        (await store.between('cam1', startedAt, Date.now() + 1000)).find(
          (s) => s.state === 'complete' && s.path.startsWith('cam1/'),
        ),
      { what: 'the first segment', timeoutMs: 40_000 },
    );
    const file = path.join(t.dataDir, 'slow', first.path);
    expect(decodeErrors(file)).toBe('');
    const info = probe(file);
    expect(info.keyframes[0]).toBeLessThan(0.1);
    expect(info.streams.map((s) => s.codec_name).sort()).toEqual(['h264', 'opus']);
    // It starts at the last keyframe before ffmpeg listened (keyframes every 2 s, ffmpeg ready
    // 3.5 s after the launch began), not at the one that began the launch.
    expect(askedAt).toBeGreaterThan(0);
    expect(first.startMs).toBeGreaterThanOrEqual(askedAt + 1000);
    const gaps = await store.gapsBetween('cam1', startedAt, Date.now() + 1000);
    expect(gaps.filter((g) => g.reason === 'recorder-fault')).toEqual([]);
    await recorder.close();
  }, 60_000);

  it('replaces ports another socket took before ffmpeg started: no recorder-fault gap, recording runs', async () => {
    const startedAt = Date.now();
    const taken = await freeUdpPorts(4);
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(taken, '127.0.0.1', () => resolve()));
    let calls = 0;
    const recorder = record('squatted', (count) =>
      ++calls === 1 ? Promise.resolve(taken) : freeUdpPorts(count),
    );
    try {
      await waitFor(() => recorder.state === 'recording', { what: 'recording', timeoutMs: 30_000 });
      expect(calls).toBe(2);
      const store = t.server.registry.recordings;
      await waitFor(
        async () =>
          (await store.between('cam1', startedAt, Date.now() + 1000)).some(
            (s) => s.path.startsWith('cam1/') && s.state === 'writing',
          ),
        { what: 'a segment being written' },
      );
      expect(
        (await store.gapsBetween('cam1', startedAt, Date.now() + 1000)).filter(
          (g) => g.reason === 'recorder-fault',
        ),
      ).toEqual([]);
    } finally {
      await recorder.close();
      await squatter.close();
    }
  }, 40_000);
});

describe.skipIf(!haveTools)('launching ffmpeg on ports that stay taken', () => {
  it('tries other ports three times, then reports the cause ffmpeg gave (bind failed) as the exit error', async () => {
    const data = tempDir();
    const taken = await freeUdpPorts(2);
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(taken, '127.0.0.1', () => resolve()));
    const exits: Array<{ requested: boolean; error?: string }> = [];
    let calls = 0;
    try {
      const listening = await launchSegmenter(
        {
          deviceDir: path.join(data.dir, 'cam1'),
          stamp: 'x',
          sdpFile: path.join(data.dir, 'x.sdp'),
          video: 'h264',
          audio: undefined,
          parameterSets: undefined,
          segmentSeconds: 5,
          fragmentMs: 1000,
          log: silentLogger(),
          onStderr: () => {},
          onSegment: () => {},
          onExit: (info) => exits.push(info),
          wanted: () => true,
          now: Date.now,
          // Always the taken range: twice refused before ffmpeg starts, the third time ffmpeg fails.
          ports: () => {
            calls++;
            return Promise.resolve(taken);
          },
        },
        () => {},
      );
      expect(listening).toBe(false);
      expect(calls).toBe(3);
      expect(exits).toHaveLength(1);
      expect(exits[0]!.requested).toBe(false);
      expect(exits[0]!.error).toMatch(/bind failed: Address already in use/);
    } finally {
      await squatter.close();
      data.remove();
    }
  }, 30_000);
});

describe.skipIf(!haveTools)('a clean shutdown', () => {
  it('leaves a server-stopped gap from the stop, which the next start closes (no blank hole, no server-down)', async () => {
    const data = tempDir();
    try {
      const first = await startTestServer({
        dataDir: data.dir,
        'recording.segmentSeconds': 5,
        'media.lingerMs': 0,
      });
      let stoppedAt = 0;
      try {
        await first.startCamera('cam1', { video: { fps: 15, keyframeIntervalSeconds: 1 } });
        await first.server.registry.devices.setRecording('cam1', { mode: 'continuous' });
        await first.server.recordings.refresh('cam1');
        const store = first.server.registry.recordings;
        // A few fragments into a segment, so the stop has something to finish.
        await waitFor(
          async () => {
            const writing = (await store.inState('writing', NODE))[0];
            return writing && Date.now() - writing.startMs > 2500;
          },
          { what: 'a segment 2.5 s into writing', timeoutMs: 30_000 },
        );
        stoppedAt = Date.now();
        // The server stops while the camera still streams (close() would stop the camera first).
        await first.server.close();
      } finally {
        await first.close();
      }
      const registry = await openRegistry({ dataDir: data.dir });
      let gapId: number;
      try {
        const stopped = await registry.recordings.openGaps(NODE);
        expect(stopped.map((g) => g.reason)).toEqual(['server-stopped']);
        // It starts where the last segment ends: no blank hole between them.
        const lastEnd = (await registry.recordings.lastEnd('cam1'))!;
        expect(lastEnd).toBeGreaterThan(stoppedAt - 10_000);
        expect(stopped[0]!.startMs).toBe(lastEnd);
        expect(await registry.recordings.inState('writing', NODE)).toEqual([]);
        gapId = stopped[0]!.id;
      } finally {
        await registry.close();
      }
      const restartedAt = Date.now();
      const second = await startTestServer({ dataDir: data.dir });
      try {
        const gaps = await second.server.registry.recordings.gapsBetween('cam1', 0, Date.now() + 1000);
        const gap = gaps.find((g) => g.id === gapId)!;
        expect(gap.endMs).toBeGreaterThanOrEqual(restartedAt);
        expect(gaps.some((g) => g.reason === 'server-down')).toBe(false);
      } finally {
        await second.close();
      }
    } finally {
      data.remove();
    }
  }, 60_000);
});
