import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape } from '../helpers/prometheus.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { WhepClient } from '../helpers/whep-client.js';

const hasFfmpeg = requireTool('ffmpeg', ['-version']);

/** Every series docs/http-api.md lists (issue 12, item 8), and Node's process series. */
const SERIES = [
  'lookout_devices_online',
  'lookout_mqtt_connections',
  'lookout_mqtt_pending_connections',
  'lookout_mqtt_messages_received_total',
  'lookout_whep_sessions',
  'lookout_whep_time_to_first_frame_seconds',
  'lookout_media_cameras',
  'lookout_media_camera_sessions',
  'lookout_media_viewers',
  'lookout_media_received_bytes_total',
  'lookout_media_sent_bytes_total',
  'lookout_media_worker_resident_memory_bytes',
  'lookout_media_worker_cpu_seconds_total',
  'lookout_recorders',
  'lookout_recorder_faults_total',
  'lookout_turn_allocations',
  'lookout_turn_permissions',
  'lookout_turn_channels',
  'lookout_turn_relayed_bytes_total',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
];

/**
 * `/metrics` of a real server with real activity: a camera agent streaming over WebRTC (cam1,
 * H.264) watched by a werift WHEP player, and a VP8 camera (cam2) set to record, which MP4
 * cannot hold: a recorder fault. Scraped over HTTP and read with a Prometheus text parser.
 */
describe.runIf(hasFfmpeg)('/metrics', () => {
  let t: TestServer;
  let token: string;
  let viewer: WhepClient | undefined;

  beforeAll(async () => {
    t = await startTestServer({ 'media.workers': 1 });
    token = (await t.server.registry.tokens.create('prometheus')).token;
  });
  afterAll(async () => {
    await viewer?.stop();
    await t?.close();
  });

  it('needs an API token by default', async () => {
    const res = await fetch(`${t.httpUrl}/metrics`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'TOKEN_MISSING' });
    const ok = await fetch(`${t.httpUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('names every series with its type, before any activity', async () => {
    const idle = await scrape(t.httpUrl, token);
    for (const name of SERIES) expect(idle.families.has(name), name).toBe(true);
    expect(idle.family('lookout_mqtt_messages_received_total').type).toBe('COUNTER');
    expect(idle.family('lookout_whep_time_to_first_frame_seconds').type).toBe('HISTOGRAM');
    expect(idle.family('lookout_devices_online').type).toBe('GAUGE');
    expect(idle.value('lookout_devices_online')).toBe(0);
    expect(idle.value('lookout_whep_sessions')).toBe(0);
    // Every fault reason and recorder state is a series of its own, zero included.
    expect(
      idle
        .family('lookout_recorder_faults_total')
        .metrics.map((m) => m.labels?.reason)
        .sort(),
    ).toEqual(['disk-full', 'ffmpeg', 'unsupported-codec']);
    expect(idle.value('lookout_recorders', { state: 'recording' })).toBe(0);
    // One media worker: its series carry worker="0" and nothing per camera or device.
    expect(idle.family('lookout_media_viewers').metrics.map((m) => m.labels)).toEqual([{ worker: '0' }]);
  });

  it('shows cameras, a viewer, its time to first frame, traffic and a recorder fault', {
    timeout: 120_000,
  }, async () => {
    await t.startCamera('cam1', { video: { keyframeIntervalSeconds: 1 } });
    await t.startCamera('cam2', { video: { codec: 'vp8', keyframeIntervalSeconds: 1 } });
    await t.server.registry.devices.setRecording('cam2', { mode: 'continuous' });
    t.server.recordings.refresh('cam2');
    viewer = new WhepClient(t.httpUrl, token);
    expect((await viewer.play('cam1')).status).toBe(201);
    await waitFor(() => viewer!.stats.keyframes > 0, { timeoutMs: 30_000, what: 'video at the viewer' });

    const busy = await waitFor(
      async () => {
        const s = await scrape(t.httpUrl, token);
        const ttff = s.family('lookout_whep_time_to_first_frame_seconds').metrics[0]!;
        const ready =
          Number(ttff.count) === 1 &&
          s.value('lookout_recorder_faults_total', { reason: 'unsupported-codec' }) >= 1 &&
          s.value('lookout_media_sent_bytes_total') > 0;
        return ready ? s : undefined;
      },
      { timeoutMs: 30_000, what: 'a first frame, a fault and traffic in /metrics' },
    );
    expect(busy.value('lookout_devices_online')).toBe(2);
    // Two cameras and the media node's own signaling client.
    expect(busy.value('lookout_mqtt_connections')).toBeGreaterThanOrEqual(3);
    expect(busy.value('lookout_mqtt_messages_received_total')).toBeGreaterThan(0);
    expect(busy.value('lookout_whep_sessions')).toBe(1);
    expect(busy.value('lookout_media_viewers', { worker: '0' })).toBe(1);
    expect(busy.value('lookout_media_cameras')).toBe(2);
    expect(busy.value('lookout_media_camera_sessions')).toBe(2);
    expect(busy.value('lookout_media_received_bytes_total')).toBeGreaterThan(0);
    // The agents gather relay candidates from the embedded TURN server (each offer carries it).
    expect(busy.value('lookout_turn_allocations')).toBeGreaterThanOrEqual(1);
    expect(busy.value('lookout_media_worker_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    expect(busy.value('lookout_recorders', { state: 'unsupported' })).toBe(1);
    const ttff = busy.family('lookout_whep_time_to_first_frame_seconds').metrics[0]!;
    const seconds = Number(ttff.sum);
    // The player measured from before its POST to the keyframe's arrival: the server's share is less.
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(viewer.stats.firstKeyframeMs! / 1000);

    // Counters only grow while the viewer watches.
    const later = await waitFor(
      async () => {
        const s = await scrape(t.httpUrl, token);
        return s.value('lookout_media_sent_bytes_total') > busy.value('lookout_media_sent_bytes_total')
          ? s
          : undefined;
      },
      { timeoutMs: 10_000, what: 'more bytes sent' },
    );
    expect(later.value('lookout_media_received_bytes_total')).toBeGreaterThanOrEqual(
      busy.value('lookout_media_received_bytes_total'),
    );

    await viewer.stop();
    viewer = undefined;
    await waitFor(async () => (await scrape(t.httpUrl, token)).value('lookout_whep_sessions') === 0, {
      what: 'the session gone from /metrics',
    });
  });
});

describe('/metrics with http.metricsAuth none', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ 'http.metricsAuth': 'none', 'media.workers': 1 });
  });
  afterAll(() => t?.close());

  it('is served without a token, and counts a device over MQTT', async () => {
    const secret = await t.addDevice('cam1');
    const cam = await t.connect({ username: 'cam1', password: secret, clientId: 'cam1' });
    cam.publish('lookout/cam1/up/signal', JSON.stringify({ v: 1, type: 'hello' }));
    const s = await waitFor(
      async () => {
        const s = await scrape(t.httpUrl);
        return s.value('lookout_devices_online') === 1 && s.value('lookout_mqtt_messages_received_total') >= 1
          ? s
          : undefined;
      },
      { what: 'cam1 online and its message counted' },
    );
    expect(s.value('lookout_mqtt_connections')).toBeGreaterThanOrEqual(2);
    await cam.endAsync();
    await waitFor(async () => (await scrape(t.httpUrl)).value('lookout_devices_online') === 0, {
      what: 'cam1 offline in /metrics',
    });
  });
});
