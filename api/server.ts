import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Server as TlsServer } from 'node:tls';
import fastifyStatic from '@fastify/static';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type WebSocket, WebSocketServer } from 'ws';
import type { HttpConfig } from '../config/index.js';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { CertificateInfo } from '../core/tls-files.js';
import { TLS_SERVER_OPTIONS } from '../core/tls-options.js';
import { ReloadingCertificate } from '../core/tls-reload.js';
import type { UserStore } from '../devices/index.js';
import { healthSchema } from '../http-contract/index.js';
import { Access, type TokenVerifier } from './auth.js';
import { capConnections } from './connection-caps.js';
import { FirstAdminSetup } from './first-admin-setup.js';
import { LiveEventHub, type LiveSources } from './live-events.js';
import { type MetricsExposition, metricsRoute } from './metrics-route.js';
import { registerOpenApi, serveOpenApi } from './openapi.js';
import { PrincipalWatch } from './principal-watch.js';
import { sendProblem, statusForCode } from './problem.js';
import { type DeviceAdmin, deviceAdminRoutes } from './routes-device-admin.js';
import { type DeviceReader, deviceRoutes } from './routes-devices.js';
import { eventRoutes } from './routes-events.js';
import { type RecordingRoutesDeps, recordingRoutes } from './routes-recordings.js';
import { sessionRoutes } from './routes-session.js';
import { setupRoutes } from './routes-setup.js';
import { type StillRoutesDeps, stillRoutes } from './routes-still.js';
import { userRoutes } from './routes-users.js';
import { type WhepService, whepRoutes } from './routes-whep.js';
import { webRoot } from './web-root.js';
import type { WhepRouting } from './whep-routing.js';

/** Where MQTT-over-WebSocket connections go (the broker). */
export interface MqttWebSocketHandler {
  handleWebSocket(ws: WebSocket, req: IncomingMessage): void;
  /** Largest WebSocket message accepted, in bytes. */
  maxPayload: number;
}

export interface HttpDeps {
  devices: DeviceReader;
  /** Device management: add, rename, rotate, revoke, delete (absent: read-only device routes). */
  deviceAdmin?: DeviceAdmin;
  whep?: WhepService;
  /** In a cluster: where each camera's viewers go (D39). */
  whepRouting?: WhepRouting;
  recordings?: Omit<RecordingRoutesDeps, 'access'>;
  /** Still pictures of cameras (absent: no `still.jpg` route). */
  stills?: StillRoutesDeps['stills'];
  tokens: TokenVerifier;
  /** Users and their sessions (absent: API tokens only, no sign-in). */
  users?: UserStore;
  /** On a first run (no user yet): the one-time code that creates the first admin from the browser (D38). */
  setupCode?: string;
  mqttWebSocket?: MqttWebSocketHandler;
  /** The live state `GET /api/events` streams (absent: no such route). */
  events?: LiveSources;
  /** What `/metrics` serves (absent: no `/metrics`). */
  metrics?: MetricsExposition;
  log: Logger;
  version: string;
}

export const MQTT_WS_PATH = '/mqtt';

/** The error code prefix of each part of a request that failed its schema (`QUERY_INVALID`, ...). */
const VALIDATION_PARTS: Record<string, string> = {
  body: 'BODY',
  querystring: 'QUERY',
  params: 'PARAMS',
  headers: 'HEADERS',
};

/**
 * The HTTP face of Lookout: health, the JSON API, the browser app and MQTT over
 * WebSocket on `/mqtt`. Owns its Fastify instance and WebSocket server.
 */
export class HttpServer {
  readonly #app: FastifyInstance;
  readonly #wss: WebSocketServer | undefined;
  readonly #config: HttpConfig;
  readonly #log: Logger;
  readonly #tokenWatch: PrincipalWatch | undefined;
  readonly #events: LiveEventHub | undefined;
  /** With `http.tls`: the certificate served, reloaded when its files change. */
  readonly #certificate: ReloadingCertificate | undefined;
  readonly #routes: Array<{ method: string; url: string }> = [];
  #closing: Promise<void> | undefined;

  constructor(config: HttpConfig, deps: HttpDeps) {
    this.#config = config;
    this.#log = deps.log;
    const { cert, key } = config.tls;
    // With TLS the port serves HTTPS only (docs/decisions.md D31); a bad pair throws here, coded.
    this.#certificate =
      cert && key
        ? new ReloadingCertificate(
            { cert, key },
            { configKey: 'http.tls', base: TLS_SERVER_OPTIONS, log: deps.log },
          )
        : undefined;
    const https = this.#certificate && {
      ...this.#certificate.secureContextOptions(),
      handshakeTimeout: 10_000,
    };
    // One instance type for both: routes see the same request and reply either way.
    this.#app = Fastify({
      loggerInstance: deps.log as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      forceCloseConnections: true,
      bodyLimit: 1_048_576,
      ...(https ? { https } : {}),
    }) as unknown as FastifyInstance;
    if (this.#certificate) this.#certificate.attach(this.#app.server as unknown as TlsServer);
    capConnections(this.#app.server, config, deps.log);
    registerOpenApi(this.#app, deps.version);
    this.#app.addHook('onRoute', (route) => {
      // HEAD routes are made by Fastify for each GET; hidden ones are the web app's files.
      if (route.schema?.hide) return;
      for (const method of [route.method].flat())
        if (method !== 'HEAD') this.#routes.push({ method, url: route.url });
    });
    this.#app.addHook('onResponse', async (request, reply) => {
      request.log.debug(
        { method: request.method, url: request.url.split('?')[0], status: reply.statusCode },
        'request',
      );
    });
    this.#app.setErrorHandler((err, _request, reply) => {
      const invalid = err as FastifyError;
      if (invalid.validation) {
        // A request that does not match its route's schema (http-contract/).
        return sendProblem(reply, {
          status: 400,
          title: 'Bad Request',
          code: `${VALIDATION_PARTS[invalid.validationContext ?? ''] ?? 'REQUEST'}_INVALID`,
          detail: invalid.message,
        });
      }
      if (err instanceof LookoutError) {
        return sendProblem(reply, {
          status: statusForCode(err.code),
          title: err.code,
          code: err.code,
          detail: err.message,
        });
      }
      const error = err as Error & { statusCode?: number; code?: string };
      const status = error.statusCode ?? 500;
      if (status >= 500) this.#log.error({ err: error }, 'request failed');
      return sendProblem(reply, {
        status,
        title: status >= 500 ? 'Internal Server Error' : 'Bad Request',
        code: error.code ?? 'INTERNAL',
        detail: status >= 500 ? 'internal error (see server log)' : error.message,
      });
    });
    this.#app.setNotFoundHandler((request, reply) =>
      sendProblem(reply, {
        status: 404,
        title: 'Not Found',
        code: 'ROUTE_NOT_FOUND',
        detail: `${request.method} ${request.url}`,
      }),
    );
    const access = new Access(deps.tokens, deps.users);
    if (deps.whep) this.#tokenWatch = new PrincipalWatch(deps.whep, access, deps.log);
    const events = deps.events
      ? new LiveEventHub(config.events, {
          sources: deps.events,
          principals: access,
          log: deps.log,
          version: deps.version,
        })
      : undefined;
    this.#events = events;
    // In a plugin registered after the OpenAPI one, so that it sees every route. Not encapsulated
    // (Fastify's skip-override, what fastify-plugin sets): the WHEP CORS hook and content parsers
    // stay server-wide, as when the routes were added to the root.
    const routes = async (app: FastifyInstance) => {
      app.withTypeProvider<ZodTypeProvider>().get(
        '/healthz',
        {
          schema: { summary: 'Liveness, without a token.', tags: ['meta'], response: { 200: healthSchema } },
        },
        async () => ({ status: 'ok' as const, version: deps.version }),
      );
      if (deps.metrics) metricsRoute(app, deps.metrics, { auth: config.metricsAuth, access });
      if (deps.users) {
        const secure = this.#certificate !== undefined;
        sessionRoutes(app, { access, users: deps.users, secure, log: deps.log });
        const setup = new FirstAdminSetup(deps.users, deps.setupCode);
        setupRoutes(app, { setup, users: deps.users, access, secure });
      }
      deviceRoutes(app, { devices: deps.devices, access });
      if (deps.users) userRoutes(app, { users: deps.users, devices: deps.devices, access });
      if (deps.deviceAdmin) {
        const policyChanged = deps.recordings?.policyChanged ?? (() => {});
        deviceAdminRoutes(app, { admin: deps.deviceAdmin, access, policyChanged });
      }
      if (deps.whep)
        whepRoutes(app, {
          whep: deps.whep,
          access,
          routing: deps.whepRouting,
          sessionOpened: () => this.#tokenWatch?.sessionOpened(),
        });
      if (events) eventRoutes(app, { hub: events, access });
      if (deps.recordings) recordingRoutes(app, { ...deps.recordings, access });
      if (deps.stills) stillRoutes(app, { stills: deps.stills, devices: deps.devices, access });
      serveOpenApi(app);
    };
    Object.assign(routes, { [Symbol.for('skip-override')]: true });
    this.#app.register(routes);
    this.#app.register(fastifyStatic, { root: webRoot(), index: 'index.html' });

    const ws = deps.mqttWebSocket;
    if (ws) {
      this.#wss = new WebSocketServer({
        noServer: true,
        maxPayload: ws.maxPayload,
        // MQTT over WebSocket, MQTT 3.1.1 §6: the subprotocol is "mqtt" (older clients: "mqttv3.1").
        handleProtocols: (protocols) =>
          protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
      });
      this.#app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const path = (req.url ?? '').split('?')[0];
        if (path !== MQTT_WS_PATH || this.#closing) {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
          return;
        }
        socket.on('error', () => socket.destroy());
        this.#wss!.handleUpgrade(req, socket, head, (client) => ws.handleWebSocket(client, req));
      });
    }
  }

  async listen(): Promise<AddressInfo> {
    try {
      await this.#app.listen({ port: this.#config.port, host: this.#config.host });
    } catch (err) {
      throw new LookoutError(
        'LISTEN_FAILED',
        `HTTP server cannot bind ${this.#config.host}:${this.#config.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { host: this.#config.host, port: this.#config.port },
      );
    }
    const address = this.address();
    this.#log.info({ address, tls: this.#certificate !== undefined }, 'HTTP server ready');
    return address;
  }

  /** Every API route (method and path pattern), as `/openapi.json` must describe them. */
  get routes(): ReadonlyArray<{ method: string; url: string }> {
    return this.#routes;
  }

  address(): AddressInfo {
    return this.#app.server.address() as AddressInfo;
  }

  /** `/api/events` streams open now. */
  eventStreams(): number {
    return this.#events?.size ?? 0;
  }

  /** The certificate HTTPS serves now (undefined without `http.tls`). */
  tlsCertificate(): CertificateInfo | undefined {
    return this.#certificate?.info;
  }

  /** Idempotent; ends WebSocket clients and open HTTP connections. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#tokenWatch?.close();
      this.#events?.close();
      this.#certificate?.close();
      for (const client of this.#wss?.clients ?? []) client.terminate();
      this.#wss?.close();
      await this.#app.close();
    })();
    return this.#closing;
  }
}
