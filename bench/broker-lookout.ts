/**
 * Bench-only starter for `npm run bench:broker`: Lookout's broker as `lookout serve` wires it
 * (the registry in `<dataDir>`, `createBroker` with the configuration defaults, info-level
 * JSON logs to a file), on 127.0.0.1 and a free port. Prints `{"port": N, "service": {...}}`
 * (service credentials for the bench's echo client) once listening; closes on SIGTERM.
 * The media node, TURN and recording are left out: the bench measures the broker.
 * With `LOOKOUT_CLUSTER_REDIS_URL` (and `LOOKOUT_CLUSTER_POSTGRES_URL`) in its environment it is
 * one node of a cluster, as `lookout serve` would run it (`npm run bench:cluster`).
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createBroker } from '../broker/index.js';
import { joinClusterIfConfigured } from '../cli/cluster-wiring.js';
import { registryOptions } from '../cli/registry-options.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../core/log.js';
import { openRegistry } from '../devices/index.js';

const dataDir = process.argv[2]!;
const config = loadConfig({ env: process.env, flags: { dataDir, 'mqtt.host': '127.0.0.1', 'mqtt.port': 0 } });
const logFile = createWriteStream(path.join(dataDir, 'broker.log'), { flags: 'a' });
const log = createLogger({ level: 'info', format: 'json', destination: logFile });
const registry = await openRegistry(registryOptions(config, { server: true }));
const cluster = await joinClusterIfConfigured(config, log, 'bench');
const broker = await createBroker(config.mqtt, {
  devices: registry.devices,
  log,
  ...(cluster ? { cluster: cluster.broker } : {}),
});
const service = broker.serviceCredentials('bench');
process.stdout.write(`${JSON.stringify({ port: broker.address('tcp')!.port, service })}\n`);
// SIGUSR2: print the event-loop delay since the last SIGUSR2 (ms) on stderr, then start over.
// The bench reads it around the round-trip phase: how long the broker itself stalled (GC, long tasks).
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
process.on('SIGUSR2', () => {
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  const stats = {
    p50: ms(loopDelay.percentile(50)),
    p99: ms(loopDelay.percentile(99)),
    max: ms(loopDelay.max),
  };
  process.stderr.write(`${JSON.stringify({ eventLoopDelayMs: stats })}\n`);
  loopDelay.reset();
});
process.once('SIGTERM', () => {
  void broker
    .close()
    .then(() => cluster?.close())
    .then(() => registry.close())
    .then(() => logFile.end(() => process.exit(0)));
});
