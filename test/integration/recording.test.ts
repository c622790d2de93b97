import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { childProcesses, isAlive, udpBindings } from '../helpers/processes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

const haveTools = requireTool('ffmpeg', ['-version']) && requireTool('ffprobe', ['-version']);

describe.skipIf(!haveTools)('recording a camera', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'recording.segmentSeconds': 5, 'media.lingerMs': 0 });
    await t.startCamera('cam1', { video: { fps: 15, keyframeIntervalSeconds: 1 }, audio: { codec: 'opus' } });
  }, 30_000);
  afterAll(() => t?.close());

  it('records continuous fragmented MP4 segments with -c copy and indexes them', async () => {
    t.server.registry.devices.setRecording('cam1', { mode: 'continuous' });
    t.server.recordings.refresh('cam1');
    const store = t.server.registry.recordings;
    await waitFor(
      () => store.between('cam1', 0, Date.now() + 1000).filter((s) => s.state === 'complete').length >= 3,
      { what: 'three complete segments', timeoutMs: 60_000 },
    ).catch((err: Error) => {
      const index = store.all().map((s) => `${s.path} ${s.state} ${s.durationMs}`);
      const { gaps } = t.server.recordings.archive.list('cam1', 0, Date.now() + 1000);
      throw new Error(`${err.message}; index: ${JSON.stringify(index)}; gaps: ${JSON.stringify(gaps)}`);
    });
    const segments = store.between('cam1', 0, Date.now() + 1000);
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
    const { gaps } = t.server.recordings.archive.list('cam1', 0, Date.now() + 1000);
    expect(gaps.every((g) => g.reason === 'camera-offline' && g.endMs !== null)).toBe(true);
    // ffmpeg listens for the media node's RTP on loopback only: nothing on the network can inject packets.
    const [ffmpeg] = childProcesses(t.server.recordings.recorder('cam1')!.segmenter!.process!.pid!, 'ffmpeg');
    const bound = udpBindings(ffmpeg!);
    expect(bound.length).toBeGreaterThanOrEqual(4); // RTP and RTCP of video and audio
    expect(bound.every((address) => address.startsWith('127.0.0.1:'))).toBe(true);
  }, 90_000);

  it('exports a range reaching into the segment being written, up to its last whole fragment', async () => {
    const store = t.server.registry.recordings;
    const writing = await waitFor(
      () => {
        const open = store.inState('writing')[0];
        return open && Date.now() - open.startMs > 3500 ? open : undefined;
      },
      { what: 'a segment 3.5 s into writing', timeoutMs: 20_000 },
    );
    const fromMs = writing.startMs - 2000;
    const toMs = Date.now();
    const out = path.join(t.dataDir, 'live-export.mp4');
    const plan = await t.server.recordings.archive.export('cam1', fromMs, toMs, out);
    // The last 2 s of the finished segment, then what the open one holds: all but its last
    // fragment (1 s) and what the machine has not yet handed to ffmpeg.
    expect(plan.parts.at(-1)!.path).toMatch(/^\.exports\//);
    expect(plan.endMs).toBeGreaterThan(toMs - 3000);
    expect(Math.abs(probe(out).durationSeconds - plan.seconds)).toBeLessThan(1.5);
    expect(decodeErrors(out)).toBe('');
    // The copy of the open segment is gone; ffmpeg still writes the original.
    expect(readdirSync(path.join(t.dataDir, 'recordings', '.exports'))).toEqual([]);
    expect(store.get(writing.id)!.state).toBe('writing');
    // The open segment itself is not served: its tail is not a whole fragment yet.
    const token = t.server.registry.tokens.create('export-test').token;
    const res = await fetch(`${t.httpUrl}/api/devices/cam1/recordings/${writing.id}.mp4`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'SEGMENT_WRITING' });
  }, 40_000);

  it('survives an ffmpeg crash: restarts, records the gap as a recorder fault', async () => {
    const recorder = t.server.recordings.recorder('cam1')!;
    const wrapper = recorder.segmenter!.process!;
    const [ffmpeg] = childProcesses(wrapper.pid!, 'ffmpeg');
    expect(ffmpeg).toBeDefined();
    process.kill(ffmpeg!, 'SIGKILL');
    const killedAt = Date.now();
    const store = t.server.registry.recordings;
    await waitFor(
      () =>
        store
          .between('cam1', killedAt, Date.now() + 1000)
          .some((s) => s.state === 'writing' && s.startMs > killedAt),
      { what: 'a new segment after the crash', timeoutMs: 20_000 },
    );
    const { gaps } = t.server.recordings.archive.list('cam1', killedAt - 1000, Date.now() + 1000);
    const fault = gaps.find((g) => g.reason === 'recorder-fault');
    expect(fault).toBeDefined();
    expect(fault!.endMs).not.toBeNull();
    // The interrupted segment was recovered, playable.
    const interrupted = store
      .between('cam1', killedAt - 6000, killedAt)
      .filter((s) => s.state === 'complete')
      .at(-1)!;
    expect(interrupted).toBeDefined();
    expect(decodeErrors(path.join(t.dataDir, 'recordings', interrupted.path))).toBe('');
  }, 60_000);

  it('stops recording when the policy is off: the last segment is finished, not lost, and no ffmpeg remains', async () => {
    const store = t.server.registry.recordings;
    // Stop 2.5-4.5 s into a 5 s segment.
    const open = await waitFor(
      () => {
        const writing = store.inState('writing')[0];
        const age = writing ? Date.now() - writing.startMs : 0;
        return age > 2500 && age < 4500 ? writing : undefined;
      },
      { what: 'a segment 2.5 s into writing', timeoutMs: 20_000 },
    );
    const stoppedAt = Date.now();
    const wrapper = t.server.recordings.recorder('cam1')!.segmenter!.process!;
    const [ffmpeg] = childProcesses(wrapper.pid!, 'ffmpeg');
    t.server.registry.devices.setRecording('cam1', { mode: 'off' });
    t.server.recordings.refresh('cam1');
    await waitFor(() => wrapper.exitCode !== null || wrapper.signalCode !== null, { what: 'ffmpeg exit' });
    expect(isAlive(ffmpeg!)).toBe(false);
    expect(t.server.recordings.recorder('cam1')).toBeUndefined();
    await waitFor(() => store.inState('writing').length === 0, { what: 'last segment finished' });
    // ffmpeg finished the segment cleanly: everything up to the stop is in it.
    const last = store.get(open.id)!;
    expect(last.state).toBe('complete');
    // Up to the stop, less what a loaded machine had not yet handed to ffmpeg (under 1.5 s);
    // before the fix the row was dropped or lost its whole last fragment.
    expect(last.durationMs!).toBeGreaterThan(stoppedAt - open.startMs - 1500);
    expect(decodeErrors(path.join(t.dataDir, 'recordings', last.path))).toBe('');
    for (const segment of store.all()) {
      expect(existsSync(path.join(t.dataDir, 'recordings', segment.path))).toBe(true);
    }
  }, 30_000);

  it('does not record a VP8 camera (MP4 holds H.264): one fault gap and one error, no ffmpeg restarts', async () => {
    await t.startCamera('cam2', {
      video: { codec: 'vp8', keyframeIntervalSeconds: 1 },
      audio: { codec: 'none' },
    });
    t.server.registry.devices.setRecording('cam2', { mode: 'continuous' });
    t.server.recordings.refresh('cam2');
    const store = t.server.registry.recordings;
    const faults = () =>
      store.gapsBetween('cam2', 0, Date.now() + 1000).filter((g) => g.reason === 'recorder-fault');
    await waitFor(() => faults().length > 0, { what: 'the fault gap', timeoutMs: 20_000 });
    // Several of the camera's keyframes later: a restart loop would have added gaps and started ffmpegs.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(t.server.recordings.recorder('cam2')!.segmenter).toBeUndefined();
    expect(faults()).toHaveLength(1);
    expect(faults()[0]!.endMs).toBeNull();
    expect(store.between('cam2', 0, Date.now() + 1000)).toEqual([]);
    t.server.registry.devices.setRecording('cam2', { mode: 'off' });
    t.server.recordings.refresh('cam2');
    await waitFor(() => faults()[0]!.endMs !== null, { what: 'the gap closed when recording stops' });
  }, 40_000);
});
