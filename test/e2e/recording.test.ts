import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../devices/index.js';
import { launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { decodeErrors, probe } from '../helpers/media-probe.js';
import { childProcesses, isAlive, startServe } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';

interface Listing {
  segments: Array<{
    id: number;
    start: string;
    end: string | null;
    durationMs: number | null;
    state: string;
    url: string | null;
    bytes: number;
  }>;
  gaps: Array<{ start: string; end: string | null; reason: string }>;
}

const ready =
  requireTool('ffmpeg', ['-version']) &&
  requireTool('ffprobe', ['-version']) &&
  requireTool('chromium', ['--version']);

const KEYFRAME_S = 1;

/** The slice of the DOM the page script uses (this project compiles without DOM types). */
interface PageVideo {
  muted: boolean;
  src: string;
  duration: number;
  currentTime: number;
  ended: boolean;
  paused: boolean;
  error: { code: number; message: string } | null;
  onloadeddata: (() => void) | null;
  onerror: (() => void) | null;
  play(): Promise<void>;
  addEventListener(event: string, listener: () => void): void;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}
interface PageDocument {
  createElement(tag: 'video'): PageVideo;
  body: { append(node: PageVideo): void };
}

/**
 * How far before `fromIso` the export must start: from the keyframe at or before it, in
 * the recorded file (the camera's GOP, not ours), and the largest keyframe gap there.
 */
async function keyframeLead(dataDir: string, fromIso: string): Promise<{ lead: number; maxGap: number }> {
  const registry = await openRegistry({ dataDir });
  try {
    const at = Date.parse(fromIso);
    const segment = (await registry.recordings.between('cam1', at, at + 1))[0]!;
    const info = probe(path.join(dataDir, 'recordings', segment.path));
    const inpoint = (at - segment.startMs) / 1000;
    const before = info.keyframes.filter((k) => k <= inpoint + 0.001);
    const gaps = info.keyframes.slice(1).map((k, i) => k - info.keyframes[i]!);
    return { lead: inpoint - before.at(-1)!, maxGap: Math.max(KEYFRAME_S, ...gaps) };
  } finally {
    await registry.close();
  }
}

/** Seconds of video in a file: first to last frame, plus one frame. */
function videoSeconds(file: string): number {
  const pts = probe(file).videoPts;
  return pts.at(-1)! - pts[0]! + (pts.at(-1)! - pts.at(-2)!);
}

describe.runIf(ready)('recording end to end: lookout serve, lookout agent, the CLI and Chromium', () => {
  let rig: CameraRig;
  let serve: CameraRig['serve'];
  const env = { LOOKOUT_RECORDING_SEGMENT_SECONDS: '6', LOOKOUT_TURN_MODE: 'off' };

  beforeAll(async () => {
    rig = await startCameraRig({
      serveEnv: env,
      video: { width: 320, height: 180, bitrateKbps: 300, fps: 15, keyframeIntervalSeconds: KEYFRAME_S },
      audio: { codec: 'pcmu' },
    });
    serve = rig.serve;
    rig.startAgent();
    await rig.waitOnline();
  }, 60_000);

  afterAll(async () => {
    if (!serve) return;
    const encoders = childProcesses(serve.child.pid!, 'ffmpeg');
    expect(await serve.stop()).toBe(0);
    expect(serve.logs()).not.toContain('handles still open');
    // Every recording ffmpeg ended with the server.
    expect(encoders.filter(isAlive)).toEqual([]);
    await rig.close();
  }, 60_000);

  const list = async (args: string[] = []): Promise<Listing> => {
    const result = await rig.cli(['recordings', 'list', 'cam1', '--json', '--from', '-1h', ...args]);
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as Listing;
  };
  const complete = (l: Listing) => l.segments.filter((s) => s.state === 'complete');

  it('records after `lookout device update --record continuous`; the CLI lists and pulls a range that plays', async () => {
    const update = await rig.cli(['device', 'update', 'cam1', '--record', 'continuous']);
    expect(update.code).toBe(0);
    const listing = await waitFor(
      async () => {
        const l = await list(['--server', rig.base, '--token', rig.token]);
        return complete(l).length >= 2 ? l : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, what: 'two finished segments' },
    );
    const [first, second] = complete(listing);
    expect(Date.parse(second!.start)).toBe(Date.parse(first!.end!));
    const human = await rig.cli(['recordings', 'list', 'cam1']);
    expect(human.stdout).toMatch(/complete/);

    const from = new Date(Date.parse(first!.start) + 2500).toISOString();
    const to = new Date(Date.parse(second!.end!) - 1500).toISOString();
    const out = path.join(rig.dir, 'clip.mp4');
    const pull = await rig.cli([
      'recordings',
      'pull',
      'cam1',
      '--from',
      from,
      '--to',
      to,
      '-o',
      out,
      '--server',
      rig.base,
      '--token',
      rig.token,
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toMatch(/Wrote .*clip\.mp4/);
    const clip = probe(out);
    // G.711 from the camera is kept as AAC, which browsers play.
    expect(clip.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(decodeErrors(out)).toBe('');
    const asked = (Date.parse(to) - Date.parse(from)) / 1000;
    // It starts at the keyframe at or before the asked time, so at most one keyframe interval early.
    const { lead, maxGap } = await keyframeLead(rig.dataDir, from);
    expect(lead).toBeLessThanOrEqual(maxGap);
    expect(Math.abs(videoSeconds(out) - (asked + lead))).toBeLessThan(0.35);

    // The same range from the local data directory (no server involved) gives the same media.
    const local = path.join(rig.dir, 'clip-local.mp4');
    const pullLocal = await rig.cli(['recordings', 'pull', 'cam1', '--from', from, '--to', to, '-o', local]);
    expect(pullLocal.code, pullLocal.stderr).toBe(0);
    expect(Math.abs(probe(local).durationSeconds - clip.durationSeconds)).toBeLessThan(0.1);
  }, 90_000);

  it('serves a segment with HTTP Range and the right content type', async () => {
    const segment = complete(await list())[0]!;
    const url = `${rig.base}/api/devices/cam1/recordings/${segment.id}.mp4`;
    const whole = Buffer.from(
      await (await fetch(url, { headers: { authorization: `Bearer ${rig.token}` } })).arrayBuffer(),
    );
    expect(whole.length).toBe(segment.bytes);
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${rig.token}`, range: 'bytes=1000-1999' },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-range')).toBe(`bytes 1000-1999/${segment.bytes}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(whole.subarray(1000, 2000));
    expect((await fetch(url)).status).toBe(401);
  }, 60_000);

  it("plays an exported range in Chromium's <video>, starting within one keyframe interval", async () => {
    const [first, second] = complete(await list());
    const from = new Date(Date.parse(first!.start) + 3200).toISOString();
    const to = new Date(Date.parse(second!.end!) - 1000).toISOString();
    const asked = (Date.parse(to) - Date.parse(from)) / 1000;
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      await page.goto(rig.base);
      const src = `/api/devices/cam1/export.mp4?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&access_token=${rig.token}`;
      const result = await page.evaluate(async (url) => {
        const doc = (globalThis as unknown as { document: PageDocument }).document;
        const video = doc.createElement('video');
        video.muted = true;
        video.src = url;
        const events: string[] = [];
        for (const e of ['seeking', 'waiting', 'stalled', 'emptied', 'ended', 'error', 'pause', 'abort'])
          video.addEventListener(e, () => events.push(`${e}@${video.currentTime.toFixed(2)}`));
        doc.body.append(video);
        await new Promise((resolve, reject) => {
          video.onloadeddata = () => resolve(undefined);
          video.onerror = () => reject(new Error(`video error ${video.error?.code}`));
        });
        await video.play();
        const deadline = Date.now() + 15_000;
        while (video.currentTime < 1.5 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return {
          duration: video.duration,
          time: video.currentTime,
          frames: video.getVideoPlaybackQuality().totalVideoFrames,
          error: video.error?.message,
          ended: video.ended,
          paused: video.paused,
          events,
        };
      }, src);
      expect(result.time, JSON.stringify(result)).toBeGreaterThanOrEqual(1.5);
      expect(result.frames).toBeGreaterThan(10);
      const { lead, maxGap } = await keyframeLead(rig.dataDir, from);
      expect(lead).toBeLessThanOrEqual(maxGap);
      // The browser's duration is the longest track's (audio may run a frame longer).
      expect(Math.abs(result.duration - (asked + lead))).toBeLessThan(0.4);
    } finally {
      await chromium.close();
    }
  }, 60_000);

  it('after kill -9 of lookout serve mid-segment, a restart recovers the open segment and every indexed one plays', async () => {
    // Kill it in the middle of a segment (2.5-4.5 s into a 6 s one).
    const writing = await waitFor(
      async () => {
        const open = (await list()).segments.find((s) => s.state === 'writing');
        const age = open ? Date.now() - Date.parse(open.start) : 0;
        return age > 2500 && age < 4500 ? open : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'a segment 2.5 s into writing' },
    );
    const encoders = childProcesses(serve.child.pid!, 'ffmpeg');
    expect(encoders.length).toBeGreaterThan(0);
    const workers = childProcesses(serve.child.pid!, 'node');
    expect(workers.length, 'media worker processes (one per core)').toBeGreaterThan(0);
    serve.child.kill('SIGKILL');
    await serve.stop();
    // Tied to the server: no recording ffmpeg outlives it, even after SIGKILL.
    await waitFor(() => encoders.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, what: 'ffmpeg to end' });
    // Nor a media worker: each exits when its IPC channel to the server closes.
    await waitFor(() => workers.every((pid) => !isAlive(pid)), {
      timeoutMs: 15_000,
      what: 'media workers to end',
    });
    serve = await startServe(rig.dataDir, { ...env, LOOKOUT_MQTT_PORT: String(rig.serve.mqtt) });
    rig.serve = serve;
    const after = await waitFor(
      async () => {
        const l = await list();
        return l.segments.some((s) => s.state === 'writing' && s.id > writing!.id) ? l : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, what: 'recording to resume after the restart' },
    );
    const recovered = after.segments.find((s) => s.id === writing!.id)!;
    expect(recovered.state).toBe('complete');
    expect(recovered.durationMs).toBeGreaterThan(0);
    // Every indexed segment decodes cleanly, the recovered one included.
    const registry = await openRegistry({ dataDir: rig.dataDir });
    try {
      const rows = (await registry.recordings.all()).filter((s) => s.state === 'complete');
      expect(rows.length).toBeGreaterThan(2);
      for (const row of rows)
        expect(decodeErrors(path.join(rig.dataDir, 'recordings', row.path)), row.path).toBe('');
    } finally {
      await registry.close();
    }
    expect(after.gaps.some((g) => g.reason === 'server-down')).toBe(true);
  }, 90_000);
});
