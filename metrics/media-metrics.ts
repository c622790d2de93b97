import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import type { MediaSource, MediaWorkerStats } from './sources.js';

/** Time to first frame buckets, seconds: a LAN viewer is well under 1 s, a cellular camera a few. */
const TTFF_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20];

/**
 * The media plane's series. Per-worker series carry `worker` (the worker's slot, bounded by
 * `media.workers`); a worker's totals start again at 0 when it is replaced, which Prometheus
 * reads as a counter reset. Returns the unsubscribe of the time-to-first-frame listener.
 */
export function registerMediaMetrics(registry: Registry, media: MediaSource, log: Logger): () => void {
  // One stats request per worker per scrape, shared by the series below: every collect() of one
  // scrape starts before any of them settles, so they all get the same promise.
  let pending: Promise<MediaWorkerStats[]> | undefined;
  const workers = () => {
    pending ??= media
      .stats()
      .catch((err: Error) => {
        log.warn({ err: err.message }, 'media worker stats unavailable for this scrape');
        return [];
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const registers = [registry];
  const perWorkerGauge = (name: string, help: string, value: (w: MediaWorkerStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers,
      async collect() {
        const stats = await workers();
        this.reset();
        for (const w of stats) this.set({ worker: String(w.workerId) }, value(w));
      },
    });
  const perWorkerCounter = (name: string, help: string, value: (w: MediaWorkerStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['worker'],
      registers,
      async collect() {
        const stats = await workers();
        this.reset();
        for (const w of stats) this.inc({ worker: String(w.workerId) }, value(w));
      },
    });

  perWorkerGauge(
    'lookout_media_cameras',
    'Cameras held by the media worker (someone watches or records them).',
    (w) => w.cameras.length,
  );
  perWorkerGauge(
    'lookout_media_camera_sessions',
    'Cameras streaming to the media worker now (a live upstream WebRTC session).',
    (w) => w.cameras.filter((c) => c.live).length,
  );
  perWorkerGauge('lookout_media_viewers', 'WHEP viewer peer connections in the media worker.', (w) =>
    w.cameras.reduce((sum, c) => sum + c.viewers, 0),
  );
  perWorkerCounter(
    'lookout_media_received_bytes_total',
    'RTP bytes (header and payload) received from cameras by the media worker.',
    (w) => w.receivedBytes,
  );
  perWorkerCounter(
    'lookout_media_sent_bytes_total',
    'SRTP bytes sent to WHEP viewers by the media worker, retransmissions included.',
    (w) => w.sentBytes,
  );
  perWorkerGauge(
    'lookout_media_worker_resident_memory_bytes',
    'Resident memory of the media worker process.',
    (w) => w.rssBytes,
  );
  perWorkerCounter(
    'lookout_media_worker_cpu_seconds_total',
    'CPU time (user and system) used by the media worker process.',
    (w) => w.cpuMs / 1000,
  );
  new Gauge({
    name: 'lookout_whep_sessions',
    help: 'WHEP sessions open now (set up or being set up).',
    registers,
    collect() {
      this.set(media.sessionCount);
    },
  });
  const ttff = new Histogram({
    name: 'lookout_whep_time_to_first_frame_seconds',
    help: "From a WHEP POST arriving to the start of the viewer's first video keyframe sent to it.",
    buckets: TTFF_BUCKETS,
    registers,
  });
  return media.onTimeToFirstFrame((seconds) => ttff.observe(seconds));
}
