import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { registerMediaMetrics } from './media-metrics.js';
import type { BrokerSource, MetricsSources, RecordingSource, TurnSource } from './sources.js';

/** How often the event loop's delay is sampled for `nodejs_eventloop_lag_*`, ms. */
const EVENT_LOOP_SAMPLE_MS = 500;

/** A server's metrics in the Prometheus text format. */
export interface ServerMetrics {
  /** The exposition's Content-Type (text format 0.0.4). */
  readonly contentType: string;
  /** Collects every series now. */
  render(): Promise<string>;
  /** Stops listening to the sources. Idempotent. */
  close(): void;
}

/**
 * The server's series, read from the components' own stats when Prometheus scrapes (collect()
 * callbacks), plus Node's default process series. A registry of its own, not prom-client's global
 * one: several servers in one process (tests) do not share series.
 */
export function createServerMetrics(sources: MetricsSources, log: Logger): ServerMetrics {
  const registry = new Registry();
  // prom-client samples the event loop's delay with a timer of this period (10 ms by default): a
  // hundred wake-ups a second, which cost an idle server more than all its other work (measured:
  // docs/benchmarks.md, "The camera with no viewer": about 70 µs a wake-up). Two a second still
  // see every stall that matters, in percentiles over a scrape interval (the lag at each scrape
  // is measured apart), and prom-client offers no way to stop it, so it must be cheap.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  registerBrokerMetrics(registry, sources.broker);
  const unsubscribe = registerMediaMetrics(registry, sources.media, log);
  registerRecordingMetrics(registry, sources.recordings);
  if (sources.turn) registerTurnMetrics(registry, sources.turn);
  let closed = false;
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
    },
  };
}

/** A gauge whose value is read at scrape time. */
function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A counter whose total is kept by its source and read at scrape time. */
function readCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function registerBrokerMetrics(registry: Registry, broker: BrokerSource): void {
  readGauge(
    registry,
    'lookout_devices_online',
    'Devices connected to the MQTT broker now.',
    () => broker.stats().devicesOnline,
  );
  readGauge(
    registry,
    'lookout_mqtt_connections',
    'MQTT clients logged in now (devices and services; TCP, TLS and WebSocket).',
    () => broker.stats().clients,
  );
  readGauge(
    registry,
    'lookout_mqtt_pending_connections',
    'MQTT connections accepted that have not logged in yet.',
    () => broker.stats().pendingConnections,
  );
  readCounter(
    registry,
    'lookout_mqtt_messages_received_total',
    'PUBLISH packets accepted from MQTT clients.',
    () => broker.stats().messagesReceived,
  );
}

function registerRecordingMetrics(registry: Registry, recordings: RecordingSource): void {
  new Gauge({
    name: 'lookout_recorders',
    help: 'Recorders (one per camera being recorded) by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(recordings.stats().recorders)) this.set({ state }, count);
    },
  });
  new Counter({
    name: 'lookout_recorder_faults_total',
    help: 'Times a recorder stopped recording on a fault: ffmpeg failed, a codec MP4 cannot hold, a full disk.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(recordings.stats().faults)) this.inc({ reason }, count);
    },
  });
}

function registerTurnMetrics(registry: Registry, turn: TurnSource): void {
  readGauge(
    registry,
    'lookout_turn_allocations',
    'Relay allocations on the embedded TURN server.',
    () => turn.stats().allocations,
  );
  readGauge(
    registry,
    'lookout_turn_permissions',
    'Permissions installed on TURN allocations.',
    () => turn.stats().permissions,
  );
  readGauge(
    registry,
    'lookout_turn_channels',
    'Channels bound on TURN allocations.',
    () => turn.stats().channels,
  );
  new Counter({
    name: 'lookout_turn_relayed_bytes_total',
    help: 'Bytes relayed by the embedded TURN server, by direction (to or from peers).',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      const stats = turn.stats();
      this.reset();
      this.inc({ direction: 'to_peers' }, stats.bytesToPeers);
      this.inc({ direction: 'from_peers' }, stats.bytesFromPeers);
    },
  });
}
