import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { type CameraRig, startCameraRig } from '../helpers/camera-rig.js';
import { jpegSize } from '../helpers/jpeg.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { type GridTestContext, gridBrowserTests } from './web-grid-browser.js';

// Issue 12 item 3, the live grid: still pictures of cameras nobody watches (GET
// /api/devices/:id/still.jpg: a live keyframe decoded by ffmpeg, a recording's thumbnail, or
// 404 NO_STILL, waking the camera only with ?wake=1), then the grid in Chromium (reload, deep
// links, saved layouts, fullscreen, tile states). Real server, real agent camera, real ffmpeg.
const ready = requireTool('ffmpeg', ['-version']) && requireTool('chromium', ['--version']);

/** The agent's log records (JSON lines) with this message. */
function agentRecords(logs: string, msg: string): Array<{ time: number }> {
  return logs
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => ({ time: Date.parse((JSON.parse(line) as { time: string }).time) }));
}

describe.runIf(ready)('the live grid: still pictures, layouts, deep links, fullscreen, tile states', () => {
  let rig: CameraRig;
  let agent: ReturnType<CameraRig['startAgent']>;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let narrowToken: string;
  const context: GridTestContext = {
    rig: () => rig,
    chromium: () => chromium,
    agent: () => agent,
  };

  beforeAll(async () => {
    rig = await startCameraRig({
      serveEnv: { LOOKOUT_RECORDING_SEGMENT_SECONDS: '5', LOOKOUT_TURN_MODE: 'off' },
      video: { width: 320, height: 180, bitrateKbps: 300, fps: 15, keyframeIntervalSeconds: 1 },
    });
    agent = rig.startAgent();
    const added = await rig.cli(['device', 'add', 'cam2', '--name', 'Back yard']);
    expect(added.code, added.stderr).toBe(0);
    const narrow = await rig.cli(['token', 'create', '--cameras', 'cam2']);
    expect(narrow.code, narrow.stderr).toBe(0);
    narrowToken = narrow.stdout.trim();
    await rig.waitOnline();
    chromium = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await chromium?.close();
    await rig?.close();
  }, 60_000);

  const still = (id: string, token: string, query = '') =>
    fetch(`${rig.base}/api/devices/${id}/still.jpg${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  it('refuses a still without the live right on that camera (403)', async () => {
    const refused = await still('cam1', narrowToken);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('CAMERA_FORBIDDEN');
    expect((await still('cam1', 'not-a-token')).status).toBe(401);
  });

  it('answers 404 NO_STILL for a camera that does not stream and never recorded, without waking it; wake=1 does', async () => {
    const none = await still('cam1', rig.token);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { code: string }).code).toBe('NO_STILL');
    const offline = await still('cam2', rig.token);
    expect(((await offline.json()) as { code: string }).code).toBe('NO_STILL');

    // The marker: the camera's first offer comes from the wake sent after the plain request
    // was answered. Had the plain request asked for the stream, the agent would have answered
    // an offer before `wokenAt`.
    const wokenAt = Date.now();
    const woken = await still('cam1', rig.token, '?wake=1');
    expect(woken.status).toBe(200);
    expect(woken.headers.get('x-lookout-still-source')).toBe('wake');
    const jpeg = Buffer.from(await woken.arrayBuffer());
    expect(jpeg.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(jpegSize(jpeg)).toEqual({ width: 320, height: 180 });
    const answered = agentRecords(agent.logs(), 'answered; streaming');
    expect(answered.length).toBeGreaterThanOrEqual(1);
    expect(answered[0]!.time).toBeGreaterThanOrEqual(wokenAt);
  }, 60_000);

  it('makes a still of a recorded camera from its live keyframe (a JPEG of the stream size)', async () => {
    const update = await rig.cli(['device', 'update', 'cam1', '--record', 'continuous']);
    expect(update.code, update.stderr).toBe(0);
    const first = await waitFor(
      async () => {
        const res = await still('cam1', rig.token);
        return res.status === 200 && res.headers.get('x-lookout-still-source') === 'live'
          ? {
              age: Number(res.headers.get('x-lookout-still-age-ms')),
              jpeg: Buffer.from(await res.arrayBuffer()),
            }
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'a live still of the recorded camera' },
    );
    expect(first.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpegSize(first.jpeg)).toEqual({ width: 320, height: 180 });
    // The latest keyframe of a stream with one a second, not the one the wake left behind.
    expect(first.age).toBeGreaterThanOrEqual(0);
    expect(first.age).toBeLessThan(10_000);
  }, 60_000);

  gridBrowserTests(context);

  it('answers the newest recording thumbnail once the recorded camera stopped streaming (agent stopped above)', async () => {
    const recorded = await waitFor(
      async () => {
        const res = await still('cam1', rig.token);
        return res.status === 200 && res.headers.get('x-lookout-still-source') === 'recording'
          ? Buffer.from(await res.arrayBuffer())
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the still from the recordings' },
    );
    expect(jpegSize(recorded)).toEqual({ width: 160, height: 90 });
  }, 60_000);
});
