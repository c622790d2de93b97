import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import { createWebSocketStream, type WebSocket } from 'ws';
import type { MqttConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { CertificateInfo } from '../core/tls-files.js';
import { TLS_SERVER_OPTIONS } from '../core/tls-options.js';
import { ReloadingCertificate } from '../core/tls-reload.js';
import type { CredentialState, PresenceChange, VerifyResult } from '../devices/index.js';
import { addressKey } from './address-key.js';
import { Authenticator, type AuthOutcome, CONNACK, SERVICE_USERNAME_PREFIX } from './authenticator.js';
import { Authorizer } from './authorizer.js';
import { boundPersistence } from './bounded-persistence.js';
import type { BrokerCluster } from './cluster-engines.js';
import { ClusterPresenceSync } from './cluster-sync.js';
import { MqttFrameGuard } from './frame-guard.js';
import { GuardedConnection } from './guarded-connection.js';
import { createTcpServer, createTlsServer, listen, type Transport } from './listeners.js';
import { LoginBackoff } from './login-backoff.js';
import { PendingGate, type PendingTicket } from './pending-gate.js';
import { Presence } from './presence.js';
import { PresenceWriter } from './presence-writer.js';
import { SessionPurge } from './session-purge.js';
import { limitMessage, SessionStore } from './session-store.js';
import type { Identity } from './topics.js';

/** The narrow slice of the registry the broker uses. */
export interface BrokerDeviceStore {
  verifySecret(id: string, secret: string): Promise<VerifyResult>;
  credentialState(id: string): Promise<CredentialState | undefined>;
  recordPresence(changes: readonly PresenceChange[]): Promise<void>;
  markAllOffline(): Promise<void>;
  list(): Promise<Array<{ id: string }>>;
}

export interface BrokerDeps {
  devices: BrokerDeviceStore;
  log: Logger;
  /** One node of a cluster (docs/cluster.md); absent on a single host. */
  cluster?: BrokerCluster;
}

export type BrokerEvents = {
  deviceOnline: [deviceId: string];
  deviceOffline: [deviceId: string];
};

/** What the broker reports for metrics. */
export interface BrokerStats {
  /** Clients logged in now (devices and services). */
  clients: number;
  /** Connections accepted that have not logged in yet. */
  pendingConnections: number;
  /** Devices connected now. */
  devicesOnline: number;
  /** PUBLISH packets accepted from clients since the broker started. */
  messagesReceived: number;
}

export interface ServiceCredentials {
  username: string;
  password: string;
  clientId: string;
}

interface ConnectionInfo {
  address: string;
  transport: Transport;
  guard: MqttFrameGuard;
  ticket: PendingTicket;
}

/**
 * How long presence changes wait to be written to the registry together (one transaction):
 * the registry's `online`/`last_seen_at` lag by at most this, and a crash loses at most this.
 */
const PRESENCE_WRITE_INTERVAL_MS = 100;

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
  readonly #presenceWriter: PresenceWriter;
  readonly #identities = new WeakMap<Client, Identity>();
  readonly #connections = new Map<Duplex, ConnectionInfo>();
  /** Warnings a device or stranger can trigger at will: once per window per key. */
  readonly #warn: RateLimitedLog;
  readonly #authorizer: Authorizer;
  readonly #gate: PendingGate;
  readonly #sessions: SessionStore;
  readonly #purge: SessionPurge;
  #servers: Array<{ transport: Transport; server: net.Server }> = [];
  /** The `mqtts` certificate, reloaded when its files change. */
  #certificate: ReloadingCertificate | undefined;
  #messagesReceived = 0;
  /** In a cluster: presence kept right across nodes. */
  readonly #clusterSync: ClusterPresenceSync | undefined;
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
    this.#warn = new RateLimitedLog(this.#log, Date.now);
    this.#authorizer = new Authorizer(
      config.topicPrefix,
      this.#identities,
      config.session,
      this.#warn,
      this.#log,
    );
    this.#gate = new PendingGate(config.connections, config.connectTimeoutMs, this.#warn, this.#log);
    this.#sessions = new SessionStore(config.session, (clientId, hit) =>
      this.#warn.warn(`session:${hit}:${clientId}`, { client: clientId, limit: hit }, limitMessage(hit)),
    );
    this.#aedes = new Aedes({
      connectTimeout: config.connectTimeoutMs,
      maxClientsIdLength: 128,
      // Per connection; SessionStore holds the same bound across reconnects.
      maxInflightInbound: config.session.maxInflightQos2,
      authenticate: (client, username, password, done) =>
        this.#authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => done(this.#authorizer.publish(client, packet)),
      authorizeSubscribe: (client, sub, done) =>
        done(null, this.#authorizer.subscribe(client, sub.topic) ? sub : null),
      authorizeForward: (client, packet) => (this.#authorizer.forward(client, packet.topic) ? packet : null),
      ...(deps.cluster
        ? {
            id: deps.cluster.nodeId,
            heartbeatInterval: deps.cluster.heartbeatMs,
            mq: deps.cluster.mq as never,
            persistence: deps.cluster.persistence as never,
          }
        : {}),
    });
    this.#purge = new SessionPurge(this.#aedes, this.#sessions, config.topicPrefix, this.#log);
    this.#presenceWriter = new PresenceWriter(deps.devices, PRESENCE_WRITE_INTERVAL_MS, this.#log);
    this.#presence = new Presence(
      this.#presenceWriter,
      config.topicPrefix,
      // Not retained in aedes's store: Presence serves the retained status itself (see presence.ts).
      (topic, payload) =>
        this.#aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, () => {}),
      this.#log,
      (id, online) => this.emit(online ? 'deviceOnline' : 'deviceOffline', id),
    );
    this.#clusterSync = deps.cluster
      ? new ClusterPresenceSync(deps.cluster, this.#presence, config.topicPrefix, this.#log)
      : undefined;
    this.#aedes.on('client', (client) => this.#onClient(client));
    this.#aedes.on('subscribe', (subs, client) => this.#sendRetainedStatus(client, subs));
    // Emitted for every accepted PUBLISH; `client` is null for the broker's own (presence).
    this.#aedes.on('publish', (_packet, client) => {
      if (client) this.#messagesReceived++;
    });
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
    // A single host's devices are all offline at start; a cluster node sets offline only what
    // its own previous run left online (ClusterPresenceSync.start).
    if (!this.#clusterSync) await this.#deps.devices.markAllOffline();
    await this.#aedes.listen();
    const aedes = this.#aedes as unknown as {
      persistence: object;
      mq: Parameters<ClusterPresenceSync['start']>[0];
    };
    aedes.persistence = boundPersistence(aedes.persistence, this.#sessions);
    await this.#clusterSync?.start(aedes.mq);
    this.#presence.announceOffline((await this.#deps.devices.list()).map((d) => d.id));
    const tcp = createTcpServer(this.#gate, (socket, ticket) => this.#acceptSocket(socket, 'tcp', ticket));
    await this.#listen(tcp, 'tcp', this.#config.port);
    const { cert, key } = this.#config.tls;
    if (cert && key) {
      this.#certificate = new ReloadingCertificate(
        { cert, key },
        { configKey: 'mqtt.tls', base: TLS_SERVER_OPTIONS, log: this.#log },
      );
      const secure = createTlsServer(
        this.#certificate,
        this.#config.connectTimeoutMs,
        this.#gate,
        (socket, ticket) => this.#acceptSocket(socket, 'tls', ticket),
        this.#log,
      );
      await this.#listen(secure, 'tls', this.#config.tls.port);
    }
  }

  /** Where the listeners ended up (useful with port 0). */
  address(transport: 'tcp' | 'tls'): AddressInfo | undefined {
    const entry = this.#servers.find((s) => s.transport === transport);
    return (entry?.server.address() as AddressInfo | null) ?? undefined;
  }

  /** The certificate the `mqtts` listener serves now (undefined without TLS). */
  tlsCertificate(): CertificateInfo | undefined {
    return this.#certificate?.info;
  }

  /** MQTT over WebSocket: the HTTP server hands over each upgraded `/mqtt` socket. */
  handleWebSocket(ws: WebSocket, req: IncomingMessage): void {
    const stream = createWebSocketStream(ws);
    const address = req.socket.remoteAddress ?? 'unknown';
    const ticket = this.#gate.admit(stream, address, 'ws');
    if (ticket) this.#accept(stream, address, 'ws', ticket, req);
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

  /** Connections accepted that have not logged in yet (all transports). */
  get pendingConnections(): number {
    return this.#gate.pending;
  }

  stats(): BrokerStats {
    return {
      clients: this.#aedes.connectedClients,
      pendingConnections: this.#gate.pending,
      devicesOnline: this.#presence.onlineCount,
      messagesReceived: this.#messagesReceived,
    };
  }

  /** What persistent sessions hold: one client's, or all together. */
  sessionStats(clientId?: string): { queuedMessages: number; storedBytes: number; inflightQos2: number } {
    return this.#sessions.stats(clientId);
  }

  isOnline(deviceId: string): boolean {
    return this.#presence.isOnline(deviceId);
  }

  /** The device's presence as the broker knows it now (see Presence.status). */
  presenceOf(deviceId: string): { online: boolean; at: number } | undefined {
    return this.#presence.status(deviceId);
  }

  /**
   * Ends the device's session if its credentials changed (rotated, revoked) since it logged in.
   * A revoked or deleted device also loses what the broker keeps for it, connected or not: its
   * persistent session and the retained messages in its subtree (a deleted one its status too).
   * Never rejects: a registry that cannot be read leaves the session as it is (logged).
   */
  async recheckCredentials(deviceId: string): Promise<void> {
    let state: CredentialState | undefined;
    try {
      state = await this.#deps.devices.credentialState(deviceId);
    } catch (err) {
      this.#log.warn({ err, device: deviceId }, 'cannot recheck credentials: the registry did not answer');
      return;
    }
    if (this.#closing) return;
    const gone = !state || state.revoked;
    const purge = () => {
      if (!gone) return;
      this.#purge.purge(deviceId, { keepStatus: state !== undefined });
      // Presence keeps the statuses (not aedes's retained store): a deleted device's goes too.
      if (!state) {
        this.#presence.forget(deviceId);
        this.#clusterSync?.forget(deviceId);
      }
    };
    const client = this.#clientOf(deviceId);
    const identity = client && this.#identities.get(client);
    if (!client || identity?.kind !== 'device') {
      purge();
      return;
    }
    const reason = !state
      ? 'device deleted'
      : state.revoked
        ? 'device revoked'
        : state.generation !== identity.generation
          ? 'secret rotated'
          : undefined;
    if (!reason) return;
    this.#log.info({ device: deviceId, reason }, 'disconnecting device: credentials no longer valid');
    client.close(purge);
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
    this.#gate.close();
    this.#certificate?.close();
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    for (const conn of this.#connections.keys()) conn.destroy();
    await this.#clusterSync?.close();
    // Every offline caused by the close above is in the registry before close() resolves.
    await this.#presenceWriter.close();
    await Promise.all(servers);
    this.#log.debug('broker closed');
  }

  async #listen(server: net.Server, transport: Transport, port: number): Promise<void> {
    await listen(server, transport, port, this.#config.host, this.#log);
    this.#servers.push({ transport, server });
  }

  #acceptSocket(socket: net.Socket, transport: Transport, ticket: PendingTicket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.#accept(socket, socket.remoteAddress ?? 'unknown', transport, ticket);
  }

  #accept(
    transport: Duplex,
    address: string,
    kind: Transport,
    ticket: PendingTicket,
    req?: IncomingMessage,
  ): void {
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
    this.#connections.set(conn, { address, transport: kind, guard, ticket });
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
    const will = (client as unknown as { _will?: { topic?: string; retain?: boolean } })._will;
    const address = addressKey(info?.address ?? 'unknown');
    this.#authenticator
      .authenticate({ clientId: client.id, username, password, address, willTopic: will?.topic })
      .then(
        (outcome) => this.#loginDecided(client, username, info, will, outcome, done),
        (err) => {
          // The registry did not answer (REGISTRY_UNAVAILABLE): "server unavailable", not the
          // device's fault, so no back-off; the device retries on its own.
          this.#warn.warn(
            'login:registry',
            { err: (err as Error).message, code: (err as { code?: string }).code },
            'login refused: the registry did not answer',
          );
          done(
            Object.assign(new Error('registry unavailable'), { returnCode: CONNACK.SERVER_UNAVAILABLE }),
            false,
          );
        },
      );
  }

  #loginDecided(
    client: Client,
    username: string | undefined,
    info: ConnectionInfo | undefined,
    will: { topic?: string; retain?: boolean } | undefined,
    outcome: AuthOutcome,
    done: (error: (Error & { returnCode: number }) | null, success: boolean | null) => void,
  ): void {
    const address = addressKey(info?.address ?? 'unknown');
    if (!outcome.ok) {
      // A stranger controls how often this happens: once per window per (address, username).
      this.#warn.warn(
        `login:${address}|${username ?? ''}`,
        {
          address: info?.address,
          username,
          clientId: client.id,
          reason: outcome.reason,
          returnCode: outcome.returnCode,
          retryAfterMs: outcome.retryAfterMs,
        },
        'login refused',
      );
      done(Object.assign(new Error(outcome.reason), { returnCode: outcome.returnCode }), false);
      return;
    }
    this.#identities.set(client, outcome.identity);
    info?.guard.authenticated();
    info?.ticket.loggedIn();
    this.#authorizer.will(outcome.identity, will);
    done(null, true);
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
    if (identity?.kind === 'device') {
      this.#presence.deviceConnected(identity.deviceId);
      this.#clusterSync?.connected(identity.deviceId, client);
    } else if (identity) this.#log.debug({ service: identity.name }, 'service connected');
  }

  #onClientDisconnect(client: Client): void {
    const identity = this.#identities.get(client);
    if (identity?.kind !== 'device') return;
    // A takeover by a newer session of the same device is not "offline".
    const current = this.#clientOf(identity.deviceId);
    if (current && current !== client) return;
    if (!this.#clusterSync) {
      this.#presence.deviceDisconnected(identity.deviceId);
      return;
    }
    // In a cluster the device may already be connected to another node: decided there.
    this.#presence.deviceDisconnected(identity.deviceId, false);
    this.#clusterSync.disconnected(identity.deviceId, client);
  }
}
