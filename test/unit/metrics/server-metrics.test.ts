import perfHooks from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { createServerMetrics } from '../../../metrics/index.js';
import type { MediaWorkerStats, MetricsSources } from '../../../metrics/sources.js';
import { captureLog, testLogger } from '../../helpers/log.js';
import { Scrape } from '../../helpers/prometheus.js';

/** In-memory sources whose numbers the test sets, counting the media stats requests. */
function sources() {
  const state = {
    broker: { clients: 1, pendingConnections: 0, devicesOnline: 1, messagesReceived: 5 },
    workers: [] as MediaWorkerStats[],
    workerStatsRequests: 0,
    workersFail: false,
    sessions: 0,
    recorders: { recording: 1, idle: 0 } as Record<string, number>,
    faults: { ffmpeg: 0, 'unsupported-codec': 0, 'disk-full': 0 } as Record<string, number>,
    ttffListeners: new Set<(seconds: number) => void>(),
  };
  const impl: MetricsSources = {
    broker: { stats: () => ({ ...state.broker }) },
    media: {
      stats: async () => {
        state.workerStatsRequests++;
        if (state.workersFail) throw new Error('MEDIA_WORKER_TIMEOUT');
        return state.workers;
      },
      get sessionCount() {
        return state.sessions;
      },
      onTimeToFirstFrame(listener) {
        state.ttffListeners.add(listener);
        return () => state.ttffListeners.delete(listener);
      },
    },
    recordings: { stats: () => ({ recorders: state.recorders, faults: state.faults }) },
  };
  return { state, impl };
}

const worker = (workerId: number, bytes: number): MediaWorkerStats => ({
  workerId,
  cameras: [
    { viewers: 2, live: true },
    { viewers: 0, live: false },
  ],
  rssBytes: 50e6,
  cpuMs: 1500,
  receivedBytes: bytes,
  sentBytes: 2 * bytes,
});

describe('server metrics', () => {
  it('reads each source at scrape time, once per scrape for the media workers', async () => {
    const { state, impl } = sources();
    const metrics = createServerMetrics(impl, testLogger());
    state.workers = [worker(0, 1000), worker(1, 3000)];
    let s = new Scrape(await metrics.render());
    expect(state.workerStatsRequests).toBe(1);
    expect(s.value('lookout_devices_online')).toBe(1);
    expect(s.value('lookout_mqtt_messages_received_total')).toBe(5);
    expect(s.value('lookout_media_cameras', { worker: '1' })).toBe(2);
    expect(s.value('lookout_media_camera_sessions')).toBe(2);
    expect(s.value('lookout_media_viewers')).toBe(4);
    expect(s.value('lookout_media_received_bytes_total', { worker: '0' })).toBe(1000);
    expect(s.value('lookout_media_sent_bytes_total')).toBe(8000);
    expect(s.value('lookout_media_worker_cpu_seconds_total', { worker: '1' })).toBe(1.5);
    // No TURN source (turn.mode external): no TURN series rather than zeros that look measured.
    expect(s.families.has('lookout_turn_allocations')).toBe(false);

    // Totals kept by a source are shown as they are now, not added up scrape after scrape.
    state.broker.messagesReceived = 7;
    state.faults.ffmpeg = 2;
    state.workers = [worker(1, 4000)]; // worker 0 gone (being replaced): its series go with it
    s = new Scrape(await metrics.render());
    expect(state.workerStatsRequests).toBe(2);
    expect(s.value('lookout_mqtt_messages_received_total')).toBe(7);
    expect(s.value('lookout_recorder_faults_total', { reason: 'ffmpeg' })).toBe(2);
    expect(s.family('lookout_media_received_bytes_total').metrics.map((m) => m.labels)).toEqual([
      { worker: '1' },
    ]);
    metrics.close();
  });

  it("samples the event loop's delay twice a second, not a hundred times (an idle server's biggest cost)", async () => {
    const monitor = vi.spyOn(perfHooks, 'monitorEventLoopDelay');
    try {
      const metrics = createServerMetrics(sources().impl, testLogger());
      expect(monitor).toHaveBeenCalledWith({ resolution: 500 });
      const s = new Scrape(await metrics.render());
      expect(s.family('nodejs_eventloop_lag_p99_seconds').metrics).toHaveLength(1);
      metrics.close();
    } finally {
      monitor.mockRestore();
    }
  });

  it('observes time to first frame until closed', async () => {
    const { state, impl } = sources();
    const metrics = createServerMetrics(impl, testLogger());
    for (const listener of state.ttffListeners) {
      listener(0.3);
      listener(1.2);
    }
    const ttff = new Scrape(await metrics.render()).family('lookout_whep_time_to_first_frame_seconds')
      .metrics[0]!;
    expect(Number(ttff.count)).toBe(2);
    expect(Number(ttff.sum)).toBeCloseTo(1.5);
    expect(ttff.buckets?.['0.5']).toBe('1');
    metrics.close();
    metrics.close();
    expect(state.ttffListeners.size).toBe(0);
  });

  it('still answers when a media worker does not, without its series, and logs why', async () => {
    const { state, impl } = sources();
    const { lines, log } = captureLog('warn');
    const metrics = createServerMetrics(impl, log);
    state.workersFail = true;
    const s = new Scrape(await metrics.render());
    expect(s.value('lookout_devices_online')).toBe(1);
    expect(s.family('lookout_media_viewers').metrics).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ err: 'MEDIA_WORKER_TIMEOUT' }));
    metrics.close();
  });

  it('keeps the series of two servers in one process apart', async () => {
    const a = sources();
    const b = sources();
    b.state.broker.devicesOnline = 9;
    const ma = createServerMetrics(a.impl, testLogger());
    const mb = createServerMetrics(b.impl, testLogger());
    expect(new Scrape(await ma.render()).value('lookout_devices_online')).toBe(1);
    expect(new Scrape(await mb.render()).value('lookout_devices_online')).toBe(9);
    ma.close();
    mb.close();
  });
});
