import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { createWebSocketStream, type WebSocket } from 'ws';
import type { MqttConfig } from '../config/index.js';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { CredentialState, VerifyResult } from '../devices/index.js';
import { Authenticator, SERVICE_USERNAME_PREFIX } from './authenticator.js';
import { MqttFrameGuard } from './frame-guard.js';
import { GuardedConnection } from './guarded-connection.js';
import { LoginBackoff } from './login-backoff.js';
import { Presence } from './presence.js';
import { canPublish, canSubscribe, deviceOfTopic, type Identity } from './topics.js';

/** The narrow slice of the registry the broker uses. */
export interface BrokerDeviceStore {
  verifySecret(id: string, secret: string): VerifyResult;
  credentialState(id: string): CredentialState | undefined;
  markOnline(id: string): void;
  markOffline(id: string): void;
  markAllOffline(): void;
  list(): Array<{ id: string }>;
}

export interface BrokerDeps {
  devices: BrokerDeviceStore;
  log: Logger;
}

export type BrokerEvents = {
  deviceOnline: [deviceId: string];
  deviceOffline: [deviceId: string];
};

export interface ServiceCredentials {
  username: string;
  password: string;
  clientId: string;
}

interface ConnectionInfo {
  address: string;
  transport: 'tcp' | 'tls' | 'ws';
  guard: MqttFrameGuard;
}

type Transport = ConnectionInfo['transport'];

/** aedes's per-client delivery (a `Client` instance property, not in its typings). */
type DeliverQoS = (packet: object, done: () => void) => void;

export class MqttBroker extends EventEmitter<BrokerEvents> {
  readonly topicPrefix: string;
  readonly #config: MqttConfig;
  readonly #deps: BrokerDeps;
  readonly #log: Logger;
  readonly #aedes: Aedes;
  readonly #serviceSecret = randomBytes(32).toString('base64url');
  readonly #authenticator: Authenticator;
  readonly #presence: Presence;
  readonly #identities = new WeakMap<Client, Identity>();
  readonly #connections = new Map<Duplex, ConnectionInfo>();
  #servers: Array<{ transport: Transport; server: net.Server }> = [];
  #closing: Promise<void> | undefined;

  constructor(config: MqttConfig, deps: BrokerDeps) {
    super({ captureRejections: false });
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.log;
    this.topicPrefix = config.topicPrefix;
    this.#authenticator = new Authenticator({
      devices: deps.devices,
      backoff: new LoginBackoff(config.authBackoff),
      serviceSecret: this.#serviceSecret,
      topicPrefix: config.topicPrefix,
    });
    this.#aedes = new Aedes({
      connectTimeout: config.connectTimeoutMs,
      maxClientsIdLength: 128,
      authenticate: (client, username, password, done) =>
        this.#authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => done(this.#authorizePublish(client, packet.topic)),
      authorizeSubscribe: (client, sub, done) =>
        done(null, this.#authorizeSubscribe(client, sub.topic) ? sub : null),
      authorizeForward: (client, packet) => (this.#authorizeForward(client, packet.topic) ? packet : null),
    });
    this.#presence = new Presence(
      deps.devices,
      config.topicPrefix,
      // Not retained in aedes's store: Presence serves the retained status itself (see presence.ts).
      (topic, payload) =>
        this.#aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, () => {}),
      this.#log,
      (id, online) => this.emit(online ? 'deviceOnline' : 'deviceOffline', id),
    );
    this.#aedes.on('client', (client) => this.#onClient(client));
    this.#aedes.on('subscribe', (subs, client) => this.#sendRetainedStatus(client, subs));
    this.#aedes.on('clientDisconnect', (client) => this.#onClientDisconnect(client));
    this.#aedes.on('clientError', (client, err) =>
      this.#log.debug({ client: client.id, err: err.message }, 'client error'),
    );
    this.#aedes.on('connectionError', (_client, err) =>
      this.#log.debug({ err: err.message }, 'connection error'),
    );
  }

  /** Opens the TCP listener (and TLS when configured); resolves once they listen. */
  async start(): Promise<void> {
    this.#deps.devices.markAllOffline();
    await this.#aedes.listen();
    this.#presence.announceOffline(this.#deps.devices.list().map((d) => d.id));
    const tcp = net.createServer((socket) => this.#acceptSocket(socket, 'tcp'));
    await this.#listen(tcp, 'tcp', this.#config.port, this.#config.host);
    const { cert, key } = this.#config.tls;
    if (cert && key) {
      const secure = tls.createServer({
        cert: readPem(cert, 'mqtt.tls.cert'),
        key: readPem(key, 'mqtt.tls.key'),
      });
      secure.on('secureConnection', (socket) => this.#acceptSocket(socket, 'tls'));
      secure.on('tlsClientError', (err, socket) => {
        this.#log.debug({ err: err.message, address: socket.remoteAddress }, 'TLS handshake failed');
        socket.destroy();
      });
      await this.#listen(secure, 'tls', this.#config.tls.port, this.#config.host);
    }
  }

  /** Where the listeners ended up (useful with port 0). */
  address(transport: 'tcp' | 'tls'): AddressInfo | undefined {
    const entry = this.#servers.find((s) => s.transport === transport);
    return (entry?.server.address() as AddressInfo | null) ?? undefined;
  }

  /** MQTT over WebSocket: the HTTP server hands over each upgraded `/mqtt` socket. */
  handleWebSocket(ws: WebSocket, req: IncomingMessage): void {
    const stream = createWebSocketStream(ws);
    this.#accept(stream, req.socket.remoteAddress ?? 'unknown', 'ws', req);
  }

  /** Credentials for an in-house client (media node, tools); valid for this process's lifetime. */
  serviceCredentials(name: string): ServiceCredentials {
    const username = `${SERVICE_USERNAME_PREFIX}${name}`;
    return {
      username,
      password: this.#serviceSecret,
      clientId: `${username}:${randomBytes(4).toString('hex')}`,
    };
  }

  isOnline(deviceId: string): boolean {
    return this.#presence.isOnline(deviceId);
  }

  /** Ends the device's session if its credentials changed (rotated, revoked) since it logged in. */
  recheckCredentials(deviceId: string): void {
    const client = this.#clientOf(deviceId);
    const identity = client && this.#identities.get(client);
    if (!client || identity?.kind !== 'device') return;
    const state = this.#deps.devices.credentialState(deviceId);
    const reason = !state
      ? 'device deleted'
      : state.revoked
        ? 'device revoked'
        : state.generation !== identity.generation
          ? 'secret rotated'
          : undefined;
    if (!reason) return;
    this.#log.info({ device: deviceId, reason }, 'disconnecting device: credentials no longer valid');
    client.close();
  }

  /** Idempotent: stops listening, disconnects every client, releases every socket. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const servers = this.#servers.map(
      ({ server }) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    for (const conn of this.#connections.keys()) conn.destroy();
    await Promise.all(servers);
    this.#log.debug('broker closed');
  }

  #listen(server: net.Server, transport: Transport, port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new LookoutError(
            'LISTEN_FAILED',
            `MQTT ${transport} listener cannot bind ${host}:${port}: ${err.code ?? err.message}`,
            {
              host,
              port,
            },
          ),
        );
      });
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.#log.error({ err, transport }, 'listener error'));
        this.#servers.push({ transport, server });
        this.#log.info({ transport, address: server.address() }, 'MQTT listener ready');
        resolve();
      });
    });
  }

  #acceptSocket(socket: net.Socket, transport: Transport): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.#accept(socket, socket.remoteAddress ?? 'unknown', transport);
  }

  #accept(transport: Duplex, address: string, kind: Transport, req?: IncomingMessage): void {
    if (this.#closing) {
      transport.destroy();
      return;
    }
    const guard = new MqttFrameGuard({
      maxConnectBytes: this.#config.maxConnectBytes,
      maxPacketBytes: this.#config.maxPacketBytes,
    });
    const conn = new GuardedConnection(transport, guard, (verdict) =>
      this.#log.warn(
        { address, transport: kind, code: verdict.code },
        `connection dropped: ${verdict.message}`,
      ),
    );
    this.#connections.set(conn, { address, transport: kind, guard });
    conn.once('close', () => this.#connections.delete(conn));
    this.#aedes.handle(conn, req);
  }

  #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: (Error & { returnCode: number }) | null, success: boolean | null) => void,
  ): void {
    const info = this.#connections.get(client.conn as Duplex);
    const will = (client as unknown as { _will?: { topic?: string } })._will;
    const outcome = this.#authenticator.authenticate({
      clientId: client.id,
      username,
      password,
      address: info?.address ?? 'unknown',
      willTopic: will?.topic,
    });
    if (!outcome.ok) {
      this.#log.info(
        {
          address: info?.address,
          username,
          clientId: client.id,
          returnCode: outcome.returnCode,
          retryAfterMs: outcome.retryAfterMs,
        },
        `login refused: ${outcome.reason}`,
      );
      done(Object.assign(new Error(outcome.reason), { returnCode: outcome.returnCode }), false);
      return;
    }
    this.#identities.set(client, outcome.identity);
    info?.guard.authenticated();
    done(null, true);
  }

  #authorizePublish(client: Client | null, topic: string): Error | null {
    const identity = client ? this.#identities.get(client) : undefined;
    if (identity && canPublish(this.topicPrefix, identity, topic)) return null;
    this.#log.warn(
      { client: client?.id, topic },
      "publish refused: outside the client's topics; disconnecting",
    );
    return new LookoutError('MQTT_PUBLISH_DENIED', `publish to '${topic}' not allowed`);
  }

  #authorizeSubscribe(client: Client, filter: string): boolean {
    const identity = this.#identities.get(client);
    const allowed = identity !== undefined && canSubscribe(this.topicPrefix, identity, filter);
    if (!allowed)
      this.#log.warn({ client: client.id, filter }, "subscription refused: outside the client's topics");
    return allowed;
  }

  #authorizeForward(client: Client, topic: string): boolean {
    const identity = this.#identities.get(client);
    if (!identity) return false;
    return identity.kind === 'service' || deviceOfTopic(this.topicPrefix, topic) === identity.deviceId;
  }

  /**
   * Completes a SUBSCRIBE with the retained statuses its filters match, as aedes does with
   * its own retained store ([MQTT-3.3.1-6], [MQTT-3.8.4-3]: also when the subscription
   * existed): after the SUBACK, retain flag 1, QoS 1 or the granted QoS if lower. Refused
   * filters (granted 0x80) get nothing. Like aedes, through the client's `deliverQoS`, which
   * applies `authorizeForward` and does not queue the message in a persistent session.
   */
  #sendRetainedStatus(client: Client, subs: Array<{ topic: string; qos: number }>): void {
    const deliver = (client as unknown as { deliverQoS?: DeliverQoS }).deliverQoS;
    if (!deliver) return;
    for (const sub of subs) {
      if (sub.qos === 128) continue;
      for (const status of this.#presence.retainedFor(sub.topic)) {
        const packet = {
          cmd: 'publish' as const,
          topic: status.topic,
          payload: Buffer.from(status.payload),
          qos: Math.min(1, sub.qos),
          retain: true,
          dup: false,
        };
        deliver.call(client, packet, () => {});
      }
    }
  }

  #clientOf(deviceId: string): Client | undefined {
    return (this.#aedes as unknown as { clients: Record<string, Client> }).clients[deviceId];
  }

  #onClient(client: Client): void {
    const identity = this.#identities.get(client);
    if (identity?.kind === 'device') this.#presence.deviceConnected(identity.deviceId);
    else if (identity) this.#log.debug({ service: identity.name }, 'service connected');
  }

  #onClientDisconnect(client: Client): void {
    const identity = this.#identities.get(client);
    if (identity?.kind !== 'device') return;
    // A takeover by a newer session of the same device is not "offline".
    const current = this.#clientOf(identity.deviceId);
    if (current && current !== client) return;
    this.#presence.deviceDisconnected(identity.deviceId);
  }
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new LookoutError(
      'TLS_FILE_UNREADABLE',
      `cannot read ${key} file ${file}: ${(err as Error).message}`,
      { file },
    );
  }
}
