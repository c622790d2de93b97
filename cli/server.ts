import { createHttpServer, type HttpServer } from '../api/index.js';
import { type Broker, createBroker } from '../broker/index.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { openRegistry, type Registry } from '../devices/index.js';
import { createMediaNode, type MediaNode } from '../media/index.js';
import { RecordingService, recordingsDir } from '../recordings/index.js';

/** A running `lookout serve`: every component, owned here and closed in reverse order. */
export interface RunningServer {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  readonly broker: Broker;
  readonly media: MediaNode;
  readonly recordings: RecordingService;
  readonly http: HttpServer;
  /** Idempotent; resolves when every listener, socket and handle is released. */
  close(): Promise<void>;
}

/** Wires the components together from one validated config. The only place that does. */
export async function startServer(
  config: Readonly<Config>,
  log: Logger,
  version: string,
): Promise<RunningServer> {
  const closers: Array<() => unknown> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        log.error({ err }, 'error while shutting down');
      }
    }
  };
  try {
    const registry = openRegistry({ dataDir: config.dataDir });
    closers.push(() => registry.close());
    const broker = await createBroker(config.mqtt, {
      devices: registry.devices,
      log: log.child({ component: 'broker' }),
    });
    closers.push(() => broker.close());
    const brokerAddress = broker.address('tcp')!;
    const credentials = broker.serviceCredentials('media');
    const media = await createMediaNode(config.media, {
      broker: {
        ...credentials,
        url: `mqtt://${loopbackFor(brokerAddress.address)}:${brokerAddress.port}`,
        topicPrefix: config.mqtt.topicPrefix,
      },
      deviceExists: (id) => {
        const device = registry.devices.get(id);
        return device !== undefined && device.revokedAt === null;
      },
      log: log.child({ component: 'media' }),
    });
    closers.push(() => media.close());
    const recordings = await RecordingService.start(
      { ...config.recording, dir: recordingsDir(config) },
      {
        store: registry.recordings,
        devices: registry.devices,
        streams: media.node,
        log: log.child({ component: 'recordings' }),
      },
    );
    closers.push(() => recordings.close());
    // Credential and recording-policy changes, made here or by the CLI in another process.
    closers.push(
      registry.watchCredentials((deviceId) => {
        broker.recheckCredentials(deviceId);
        recordings.refresh(deviceId);
      }),
    );
    const http = await createHttpServer(config.http, {
      devices: registry.devices,
      tokens: registry.tokens,
      whep: media.node,
      recordings: {
        archive: recordings.archive,
        devices: registry.devices,
        policyChanged: (id) => recordings.refresh(id),
      },
      mqttWebSocket: {
        handleWebSocket: (ws, req) => broker.handleWebSocket(ws, req),
        // A WebSocket message carries at most one MQTT packet in practice; allow framing slack.
        maxPayload: config.mqtt.maxPacketBytes + 1024,
      },
      log: log.child({ component: 'http' }),
      version,
    });
    closers.push(() => http.close());
    let closing: Promise<void> | undefined;
    return {
      config,
      registry,
      broker,
      media: media.node,
      recordings,
      http,
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Where an in-process client reaches a listener bound to `address` (wildcards mean loopback). */
function loopbackFor(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}
