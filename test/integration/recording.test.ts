import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIdOf } from '../../config/index.js';
import type { TapPacket } from '../../media/index.js';
import { isKeyframeStart } from '../../media/keyframe.js';
import { bytesReader, topLevelBoxes } from '../../recordings/fmp4.js';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { childProcesses, isAlive, udpBindings } from '../helpers/processes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

/** The node id a test server runs as (its host name): the index names it as the holder. */
const NODE = nodeIdOf({});

const haveTools = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);

/** How many whole fragments (moof + mdat) a fragmented MP4 being written holds now. */
function wholeFragments(file: string): number {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return 0; // not created yet
  }
  return topLevelBoxes(data.length, bytesReader(data)).boxes.filter((box) => box.type === 'mdat').length;
}

describe.skipIf(!haveTools)('recording a camera', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'recording.segmentSeconds': 5, 'media.lingerMs': 0 });
    await t.startCamera('cam1', { video: { fps: 15, keyframeIntervalSeconds: 1 }, audio: { codec: 'opus' } });
  }, 60_000);
  afterAll(() => t?.close());

  it('records continuous fragmented MP4 segments with -c copy and indexes them', async () => {
    await t.server.registry.devices.setRecording('cam1', { mode: 'continuous' });
    await t.server.recordings.refresh('cam1');
    const store = t.server.registry.recordings;
    await waitFor(
      async () =>
        (await store.between('cam1', 0, Date.now() + 1000)).filter((s) => s.state === 'complete').length >= 3,
      { what: 'three complete segments', timeoutMs: 60_000 },
    ).catch(async (err: Error) => {
      const index = (await store.all()).map((s) => `${s.path} ${s.state} ${s.durationMs}`);
      const { gaps } = await t.server.recordings.archive.list('cam1', 0, Date.now() + 1000);
      throw new Error(`${err.message}; index: ${JSON.stringify(index)}; gaps: ${JSON.stringify(gaps)}`);
    });
    const segments = await store.between('cam1', 0, Date.now() + 1000);
    const complete = segments.filter((s) => s.state === 'complete');
    expect(segments.at(-1)!.state).toBe('writing');
    const dir = path.join(t.dataDir, 'recordings');
    for (const [i, segment] of complete.entries()) {
      const file = path.join(dir, segment.path);
      const info = probe(file);
      expect(info.streams.map((s) => s.codec_name).sort()).toEqual(['h264', 'opus']);
      expect(info.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 320, height: 180 });
      expect(Math.abs(info.durationSeconds * 1000 - segment.durationMs!)).toBeLessThan(1500);
      expect(segment.durationMs!).toBeGreaterThan(4000);
      expect(info.keyframes[0]).toBeLessThan(0.1);
      // Continuous timestamps: always increasing; after the first segment (where the reference
      // agent restarts its encoder for the keyframe the recorder asks for) no jump above a few frames.
      const steps = info.videoPts.slice(1).map((pts, k) => pts - info.videoPts[k]!);
      expect(Math.min(...steps)).toBeGreaterThan(0);
      if (i > 0) expect(Math.max(...steps)).toBeLessThan(0.5);
      expect(decodeErrors(file)).toBe('');
      if (i > 0) expect(segment.startMs).toBe(complete[i - 1]!.endMs);
    }
    const { gaps } = await t.server.recordings.archive.list('cam1', 0, Date.now() + 1000);
    expect(gaps.every((g) => g.reason === 'camera-offline' && g.endMs !== null)).toBe(true);
    // ffmpeg listens for the media node's RTP on loopback only: nothing on the network can inject packets.
    const [ffmpeg] = childProcesses(t.server.recordings.recorder('cam1')!.segmenter!.process!.pid!, 'ffmpeg');
    const bound = udpBindings(ffmpeg!);
    expect(bound.length).toBeGreaterThanOrEqual(4); // RTP and RTCP of video and audio
    expect(bound.every((address) => address.startsWith('127.0.0.1:'))).toBe(true);
  }, 90_000);

  it('exports a range reaching into the segment being written, up to its last whole fragment', async () => {
    const store = t.server.registry.recordings;
    const dir = path.join(t.dataDir, 'recordings');
    // An open segment with two whole fragments: counted in the file, not by the clock, since the
    // camera of a loaded machine runs behind it (its segment times lag the wall clock by seconds).
    const writing = await waitFor(
      async () => {
        const open = (await store.inState('writing', NODE))[0];
        return open && wholeFragments(path.join(dir, open.path)) >= 2 ? open : undefined;
      },
      { what: 'an open segment with two whole fragments', timeoutMs: 30_000, intervalMs: 100 },
    );
    // What ffmpeg has written so far. The export starts in this same tick (it copies the open
    // file before its first await), so it sees this file, or at most one more fragment of it.
    const soFar = path.join(t.dataDir, 'written-so-far.mp4');
    copyFileSync(path.join(dir, writing.path), soFar);
    const fromMs = writing.startMs - 2000;
    const out = path.join(t.dataDir, 'live-export.mp4');
    const plan = await t.server.recordings.archive.export('cam1', fromMs, Date.now(), out);
    // The last 2 s of the finished segment, then the open one up to its last whole fragment:
    // at least to where its last (maybe partial) fragment starts, at most one fragment further.
    expect(plan.parts.at(-1)!.path).toMatch(/^\.exports\//);
    const held = probe(soFar);
    const reachedSeconds = (plan.endMs - writing.startMs) / 1000;
    expect(reachedSeconds).toBeGreaterThanOrEqual(held.keyframes.at(-1)! - 0.1);
    expect(reachedSeconds).toBeLessThanOrEqual(held.videoPts.at(-1)! + 1.1);
    expect(Math.abs(probe(out).durationSeconds - plan.seconds)).toBeLessThan(1.5);
    expect(decodeErrors(out)).toBe('');
    // The copy of the open segment is gone; ffmpeg went on writing the original to its full length.
    expect(readdirSync(path.join(dir, '.exports'))).toEqual([]);
    await waitFor(async () => (await store.get(writing.id))!.state === 'complete', {
      what: 'the exported open segment to finish',
      timeoutMs: 30_000,
    });
    expect((await store.get(writing.id))!.durationMs!).toBeGreaterThan(4000);
    expect(decodeErrors(path.join(dir, writing.path))).toBe('');
    // A segment still being written is not served: its tail is not a whole fragment yet. (Asked
    // again should the segment finish while the request is on its way.)
    const token = (await t.server.registry.tokens.create('export-test')).token;
    for (let attempt = 1; ; attempt++) {
      const open = await waitFor(async () => (await store.inState('writing', NODE))[0], {
        what: 'an open segment',
        timeoutMs: 30_000,
      });
      const res = await fetch(`${t.httpUrl}/api/devices/cam1/recordings/${open.id}.mp4`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status !== 409 && (await store.get(open.id))!.state === 'complete' && attempt < 3) continue;
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ code: 'SEGMENT_WRITING' });
      break;
    }
  }, 120_000);

  it('survives an ffmpeg crash: restarts, records the gap as a recorder fault', async () => {
    const store = t.server.registry.recordings;
    const dir = path.join(t.dataDir, 'recordings');
    // Killed while the open segment holds a whole fragment: there is something to recover.
    const open = await waitFor(
      async () => {
        const writing = (await store.inState('writing', NODE))[0];
        return writing && wholeFragments(path.join(dir, writing.path)) >= 1 ? writing : undefined;
      },
      { what: 'an open segment with a whole fragment', timeoutMs: 30_000, intervalMs: 100 },
    );
    const wrapper = t.server.recordings.recorder('cam1')!.segmenter!.process!;
    const [ffmpeg] = childProcesses(wrapper.pid!, 'ffmpeg');
    expect(ffmpeg).toBeDefined();
    process.kill(ffmpeg!, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      async () =>
        (await store.between('cam1', killedAt, Date.now() + 1000)).some(
          (s) => s.state === 'writing' && s.startMs > killedAt,
        ),
      { what: 'a new segment after the crash', timeoutMs: 30_000 },
    );
    const { gaps } = await t.server.recordings.archive.list('cam1', killedAt - 1000, Date.now() + 1000);
    const fault = gaps.find((g) => g.reason === 'recorder-fault');
    expect(fault).toBeDefined();
    expect(fault!.endMs).not.toBeNull();
    // The interrupted segment is recovered (in the background, beside the restart), playable.
    await waitFor(async () => (await store.get(open.id))?.state !== 'writing', {
      what: 'the interrupted segment recovered',
      timeoutMs: 30_000,
    });
    expect((await store.get(open.id))!.state).toBe('complete');
    expect(decodeErrors(path.join(dir, open.path))).toBe('');
  }, 90_000);

  it('stops recording when the policy is off: the last segment is finished, not lost, and no ffmpeg remains', async () => {
    const store = t.server.registry.recordings;
    const dir = path.join(t.dataDir, 'recordings');
    // Stop 2-4 s into a 5 s segment, counted in its fragments (a loaded machine's camera lags the clock).
    const open = await waitFor(
      async () => {
        const writing = (await store.inState('writing', NODE))[0];
        const fragments = writing ? wholeFragments(path.join(dir, writing.path)) : 0;
        return fragments >= 2 && fragments <= 3 ? writing : undefined;
      },
      { what: 'a segment 2 fragments into writing', timeoutMs: 30_000, intervalMs: 100 },
    );
    // What ffmpeg has written when we stop it, its fragment in progress included.
    const soFar = path.join(t.dataDir, 'written-before-stop.mp4');
    copyFileSync(path.join(dir, open.path), soFar);
    const wrapper = t.server.recordings.recorder('cam1')!.segmenter!.process!;
    const [ffmpeg] = childProcesses(wrapper.pid!, 'ffmpeg');
    await t.server.registry.devices.setRecording('cam1', { mode: 'off' });
    await t.server.recordings.refresh('cam1');
    await waitFor(() => wrapper.exitCode !== null || wrapper.signalCode !== null, {
      what: 'ffmpeg exit',
      timeoutMs: 20_000,
    });
    expect(isAlive(ffmpeg!)).toBe(false);
    expect(t.server.recordings.recorder('cam1')).toBeUndefined();
    await waitFor(async () => (await store.inState('writing', NODE)).length === 0, {
      what: 'last segment finished',
      timeoutMs: 20_000,
    });
    // ffmpeg finished the segment cleanly: everything up to the stop is in it.
    const last = (await store.get(open.id))!;
    expect(last.state).toBe('complete');
    // At least all it had written at the stop, the fragment in progress too: before the fix the
    // row was dropped or lost its whole last fragment.
    expect(last.durationMs! / 1000).toBeGreaterThanOrEqual(probe(soFar).videoPts.at(-1)! - 0.05);
    expect(decodeErrors(path.join(dir, last.path))).toBe('');
    for (const segment of await store.all()) {
      expect(existsSync(path.join(dir, segment.path))).toBe(true);
    }
  }, 60_000);

  it('does not record a VP8 camera (MP4 holds H.264): one fault gap and one error, no ffmpeg restarts', async () => {
    await t.startCamera('cam2', {
      video: { codec: 'vp8', keyframeIntervalSeconds: 1 },
      audio: { codec: 'none' },
    });
    await t.server.registry.devices.setRecording('cam2', { mode: 'continuous' });
    await t.server.recordings.refresh('cam2');
    const store = t.server.registry.recordings;
    const faults = async () =>
      (await store.gapsBetween('cam2', 0, Date.now() + 1000)).filter((g) => g.reason === 'recorder-fault');
    await waitFor(async () => (await faults()).length > 0, { what: 'the fault gap', timeoutMs: 20_000 });
    // Three of the camera's keyframes later (a restart loop would have added gaps and started
    // ffmpegs by then): counted by a listener after the recorder's, so it has handled each one.
    const stream = t.server.media.feed('cam2');
    let keyframes = 0;
    const count = (kind: 'video' | 'audio', mimeType: string, packet: TapPacket) => {
      if (kind === 'video' && isKeyframeStart(mimeType, packet.payload)) keyframes++;
    };
    stream.on('rtp', count);
    await waitFor(() => keyframes >= 3, { what: 'three more keyframes', timeoutMs: 30_000 }).finally(() =>
      stream.off('rtp', count),
    );
    expect(t.server.recordings.recorder('cam2')!.segmenter).toBeUndefined();
    expect(await faults()).toHaveLength(1);
    expect((await faults())[0]!.endMs).toBeNull();
    expect(await store.between('cam2', 0, Date.now() + 1000)).toEqual([]);
    await t.server.registry.devices.setRecording('cam2', { mode: 'off' });
    await t.server.recordings.refresh('cam2');
    await waitFor(async () => (await faults())[0]!.endMs !== null, {
      what: 'the gap closed when recording stops',
    });
  }, 90_000);
});
