import { Command } from 'commander';
import { addCommonOptions, type CommonOptions, resolveConfig } from '../context.js';
import { lookoutVersion } from '../version.js';

interface ServeOptions extends CommonOptions {
  httpHost?: string;
  httpPort?: number;
  mqttHost?: string;
  mqttPort?: number;
  logFormat?: string;
}

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

export function serveCommand(): Command {
  return addCommonOptions(
    new Command('serve')
      .description('run the Lookout server: MQTT broker, HTTP API and web app')
      .option('--http-host <host>', 'HTTP bind address (http.host)')
      .option('--http-port <port>', 'HTTP port (http.port)', toInt)
      .option('--mqtt-host <host>', 'MQTT bind address (mqtt.host)')
      .option('--mqtt-port <port>', 'MQTT TCP port (mqtt.port)', toInt)
      .option('--log-format <format>', 'auto|json|pretty (log.format)'),
  ).action(async (options: ServeOptions) => {
    const config = await resolveConfig(options, {
      'http.host': options.httpHost,
      'http.port': options.httpPort,
      'mqtt.host': options.mqttHost,
      'mqtt.port': options.mqttPort,
      'log.format': options.logFormat,
    });
    const [{ createLogger, guardStdio }, { publicBrokerUrls }, { startServer }] = await Promise.all([
      import('../../core/log.js'),
      import('../../edge-config/index.js'),
      import('../server.js'),
    ]);
    const log = createLogger({ level: config.log.level, format: config.log.format });
    // A full disk under the log or a closed pipe must not end the server (issue 9, item 5).
    guardStdio();
    const version = lookoutVersion();
    process.on('uncaughtException', (err) => {
      log.fatal({ err }, 'uncaught exception; exiting');
      process.exit(1);
    });
    process.on('unhandledRejection', (err) => {
      log.fatal({ err }, 'unhandled promise rejection; exiting');
      process.exit(1);
    });

    const server = await startServer(config, log, version);
    const http = server.http.address();
    const mqtt = server.broker.address('tcp');
    const urls = publicBrokerUrls(config.mqtt, config.http);
    log.info(
      {
        version,
        dataDir: config.dataDir,
        http: `${http.address}:${http.port}`,
        mqtt: mqtt && `${mqtt.address}:${mqtt.port}`,
        cameraUrl: urls.url,
        mediaWorkers: server.mediaWorkers,
      },
      `Lookout ${version} ready: web app on ${config.http.tls.cert ? 'HTTPS ' : ''}port ${http.port}, MQTT on port ${mqtt?.port}, ${
        server.mediaWorkers === 0
          ? 'media in the server process'
          : `${server.mediaWorkers} media worker${server.mediaWorkers === 1 ? '' : 's'}`
      }`,
    );

    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS);
      server.close().then(() => {
        clearTimeout(deadline);
        log.info('stopped');
        // Everything is released, so the process ends by itself; should a handle leak, say so and go.
        setTimeout(() => {
          const handles = describeHandles();
          if (handles.length > 0) log.warn({ handles }, 'handles still open after shutdown; exiting anyway');
          // werift's DTLS retransmit timers can outlive a closed peer connection by seconds; they hold nothing.
          else log.debug({ resources: process.getActiveResourcesInfo() }, 'only timers left; exiting');
          process.exit(0);
        }, 2000).unref();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

function toInt(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

/** What keeps the process alive (type and addresses), to find a leak from the log line alone. */
function describeHandles(): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((handle) => !isStdio(handle))
    .map((handle) => {
      const h = handle as {
        constructor: { name: string };
        type?: string;
        address?: () => unknown;
        remoteAddress?: string;
        remotePort?: number;
      };
      let local = '';
      try {
        local = JSON.stringify(h.address?.() ?? '');
      } catch {
        // not bound
      }
      return `${h.constructor.name}${h.type ? `(${h.type})` : ''} ${local}${h.remoteAddress ? ` -> ${h.remoteAddress}:${h.remotePort}` : ''}`;
    });
}

function isStdio(handle: unknown): boolean {
  return handle === process.stdout || handle === process.stderr || handle === process.stdin;
}
