import type { AddressInfo } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { type CameraAgent, type RtspTransport, startAgent } from '../../agent/index.js';
import { type RunningServer, startServer } from '../../cli/server.js';
import { loadConfig } from '../../config/index.js';
import type { Logger } from '../../core/log.js';
import { type EdgeConfig, renderEdgeConfig } from '../../edge-config/index.js';
import { testLogger } from './log.js';
import { tempDir } from './tmp.js';
import { waitFor } from './wait-for.js';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  mqttUrl: string;
  httpUrl: string;
  wsUrl: string;
  /** Registers a device and returns its secret. */
  addDevice(id: string): Promise<string>;
  /** Connects an MQTT.js client; resolves on CONNACK success, rejects on refusal. */
  connect(options: IClientOptions): Promise<MqttClient>;
  /** A connected service-side client (full topic access), like the media node. */
  serviceClient(): Promise<MqttClient>;
  /** Registers `id` and starts the reference agent for it in this process; resolves once it is online. Closed by close(). */
  startCamera(
    id: string,
    options?: {
      video?: Partial<EdgeConfig['stream']['video']>;
      audio?: EdgeConfig['stream']['audio'];
      source?: string;
      rtspTransport?: RtspTransport;
      /** The agent's logger (default: the silent test logger). */
      log?: Logger;
    },
  ): Promise<CameraAgent>;
  close(): Promise<void>;
}

/**
 * A real `lookout serve` in this process on free ports and a temporary data directory. `log`
 * replaces the test logger (a test that reads the server's log lines passes its own).
 */
export async function startTestServer(
  overrides: Record<string, unknown> = {},
  options: { log?: Logger } = {},
): Promise<TestServer> {
  const tmp = tempDir();
  const config = loadConfig({
    flags: {
      dataDir: tmp.dir,
      'http.host': '127.0.0.1',
      'http.port': 0,
      'mqtt.host': '127.0.0.1',
      'mqtt.port': 0,
      // The embedded TURN server on a free loopback port: test servers run side by side.
      'turn.host': '127.0.0.1',
      'turn.port': 0,
      ...overrides,
    },
  });
  const server = await startServer(config, options.log ?? testLogger(), 'test');
  const mqttPort = (server.broker.address('tcp') as AddressInfo).port;
  const httpPort = server.http.address().port;
  const clients = new Set<MqttClient>();
  const agents = new Set<CameraAgent>();
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  const connect = (options: IClientOptions) =>
    new Promise<MqttClient>((resolve, reject) => {
      const client = mqtt.connect(mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
      clients.add(client);
      client.once('connect', () => resolve(client));
      client.once('error', (err) => {
        client.end(true);
        reject(err);
      });
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
  return {
    server,
    dataDir: tmp.dir,
    mqttUrl,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    wsUrl: `ws://127.0.0.1:${httpPort}/mqtt`,
    addDevice: async (id) => (await server.registry.devices.add(id)).secret,
    connect,
    serviceClient: () => {
      const creds = server.broker.serviceCredentials('test');
      return connect({ username: creds.username, password: creds.password, clientId: creds.clientId });
    },
    async startCamera(id, options = {}) {
      const secret = (await server.registry.devices.add(id)).secret;
      const edge = renderEdgeConfig({
        deviceId: id,
        name: id,
        secret,
        mqttUrl,
        topicPrefix: config.mqtt.topicPrefix,
      });
      // Small pictures keep CPU low on small CI machines.
      edge.stream.video = {
        ...edge.stream.video,
        width: 320,
        height: 180,
        bitrateKbps: 300,
        ...options.video,
      };
      if (options.audio) edge.stream.audio = options.audio;
      const agent = await startAgent(
        edge,
        { source: options.source ?? 'test', rtspTransport: options.rtspTransport },
        options.log ?? testLogger(),
      );
      agents.add(agent);
      // The agent's first login includes starting its encoder: seconds on a loaded machine.
      await waitFor(() => server.media.isOnline(id), { what: `${id} online`, timeoutMs: 20_000 });
      return agent;
    },
    async close() {
      await Promise.all([...agents].map((a) => a.close()));
      await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})));
      await server.close();
      tmp.remove();
    },
  };
}

/** Resolves when the client is closed by the other side (or rejects after the timeout). */
export function closedWithin(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`client still connected after ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
