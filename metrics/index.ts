/**
 * metrics/: the server's Prometheus series (prom-client), read from each component's stats at
 * scrape time. Imports no component: the sources are narrow interfaces (sources.ts).
 */

export { createServerMetrics, type ServerMetrics } from './server-metrics.js';
export type { MediaWorkerStats, MetricsSources } from './sources.js';
