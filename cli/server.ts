import { createHttpServer, FirstAdminSetup, type HttpServer, setupUrl } from '../api/index.js';
import { type Broker, createBroker } from '../broker/index.js';
import type { ClusterNode } from '../cluster/index.js';
import { type Config, nodeIdOf } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import {
  ActiveDevices,
  type DeviceEventKind,
  lockDataDir,
  openRegistry,
  type Registry,
  trackChanges,
} from '../devices/index.js';
import { publicBrokerUrls, renderEdgeConfig } from '../edge-config/index.js';
import { createMediaNode, type MediaNode } from '../media/index.js';
import { createServerMetrics } from '../metrics/index.js';
import { RecordingService, recordingsDir, Stills } from '../recordings/index.js';
import { createTurnServer, type TurnServer } from '../turn/index.js';
import { joinClusterIfConfigured } from './cluster-wiring.js';
import { withLivePresence } from './live-presence.js';
import { placedKeyframes } from './placed-stills.js';
import { registryOptions } from './registry-options.js';
import { createTurnService, loadOrCreateTurnSecret, type TurnService } from './turn-service.js';

/** A running `lookout serve`: every component, owned here and closed in reverse order. */
export interface RunningServer {
  readonly config: Readonly<Config>;
  readonly registry: Registry;
  readonly broker: Broker;
  readonly media: MediaNode;
  /** Media worker processes (0: media runs in this process). */
  readonly mediaWorkers: number;
  readonly recordings: RecordingService;
  readonly http: HttpServer;
  readonly turn: TurnService;
  /** The embedded TURN server, when `turn.mode` is `embedded`. */
  readonly relay: TurnServer | undefined;
  /** This node's membership of a cluster, when `cluster.redisUrl` is set. */
  readonly cluster: ClusterNode | undefined;
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
    // First, before anything touches the data directory: a second server on it must refuse
    // without marking devices offline or recovering the first one's live segments (docs/decisions.md).
    const lock = lockDataDir(config.dataDir);
    closers.push(() => lock.release());
    // PostgreSQL: its migrations run here, at start (as `lookout db migrate` would). An outage
    // breaks every pooled connection in turn: one line per window.
    const registryLost = new RateLimitedLog(log, Date.now);
    const registry = await openRegistry(
      registryOptions(config, {
        server: true,
        onIdleError: (err) =>
          registryLost.warn(
            'registry-idle',
            { err: err.message },
            'registry connection lost; it reconnects on next use',
          ),
      }),
    );
    closers.push(() => registry.close());
    // What must answer at once (TURN allocations, the media node) reads this copy of the
    // registry's active devices, kept fresh by logins and device events (docs/decisions.md D29).
    const active = new ActiveDevices(registry.devices, registry.readNow);
    await active.load();
    // What this process changes (the HTTP API, tests) reaches `active` before the change resolves.
    const devices = trackChanges(registry.devices, active);
    const served: Registry = {
      kind: registry.kind,
      keyFingerprint: registry.keyFingerprint,
      devices,
      tokens: registry.tokens,
      users: registry.users,
      recordings: registry.recordings,
      transfer: registry.transfer,
      ...(registry.readNow ? { readNow: registry.readNow } : {}),
      watchCredentials: (listener, intervalMs) => registry.watchCredentials(listener, intervalMs),
      close: () => registry.close(),
    };
    // Before the broker, which shares its Redis, and closed after it (closers run in reverse).
    const cluster = await joinClusterIfConfigured(config, log, version);
    if (cluster) closers.push(() => cluster.close());
    const broker = await createBroker(config.mqtt, {
      devices: {
        verifySecret: async (id, secret) => {
          const result = await registry.devices.verifySecret(id, secret);
          if (result.ok) active.verified(id, result.generation);
          return result;
        },
        credentialState: (id) => registry.devices.credentialState(id),
        recordPresence: (changes) => registry.devices.recordPresence(changes),
        markAllOffline: () => registry.devices.markAllOffline(),
        list: () => registry.devices.list(),
      },
      log: log.child({ component: 'broker' }),
      ...(cluster ? { cluster: cluster.broker } : {}),
    });
    closers.push(() => broker.close());
    const deviceActive = (id: string) => active.has(id);
    // The embedded TURN server starts before the media node and closes after it. It relays
    // only to public addresses and to where the media node listens for cameras (the node is
    // created below; the hook runs later, per permission and channel).
    let mediaNode: MediaNode | undefined;
    const relay =
      config.turn.mode === 'embedded'
        ? await createTurnServer(
            {
              ...config.turn,
              lifetimes: {
                allocationMaxSeconds: config.turn.maxAllocationLifetimeSeconds,
                allocationDefaultSeconds: Math.min(600, config.turn.maxAllocationLifetimeSeconds),
              },
            },
            {
              log: log.child({ component: 'turn' }),
              secret: cluster?.turnSecret ?? config.turn.secret ?? loadOrCreateTurnSecret(config.dataDir),
              // A TURN credential names the secret generation it was issued under: a rotate
              // makes the older ones useless at once (issue 9, item 10).
              deviceAllowed: (id, generation) => active.generation(id) === generation,
              allowPeer: (ip, port) =>
                mediaNode?.upstreamHostCandidates().some((c) => c.address === ip && c.port === port) ?? false,
            },
          )
        : undefined;
    if (relay) closers.push(() => relay.close());
    const turnService = createTurnService(
      {
        // In a cluster, the secret every node shares (credentials work on any node's TURN server).
        turn: cluster?.turnSecret ? { ...config.turn, secret: cluster.turnSecret } : config.turn,
        mqtt: config.mqtt,
        dataDir: config.dataDir,
        ...(relay ? { embeddedPort: relay.address().udp.port } : {}),
      },
      log.child({ component: 'turn' }),
    );
    const brokerAddress = broker.address('tcp')!;
    const credentials = broker.serviceCredentials('media');
    const media = await createMediaNode(config.media, {
      broker: {
        ...credentials,
        url: `mqtt://${loopbackFor(brokerAddress.address)}:${brokerAddress.port}`,
        topicPrefix: config.mqtt.topicPrefix,
      },
      deviceExists: deviceActive,
      deviceIceServers: (id) => {
        const generation = active.generation(id);
        return generation === undefined ? [] : turnService.deviceIceServers(id, generation);
      },
      mediaIceServers: () => turnService.mediaIceServers(),
      clustered: cluster !== undefined,
      log: log.child({ component: 'media' }),
    });
    closers.push(() => media.close());
    mediaNode = media.node;
    const recordings = await RecordingService.start(
      { ...config.recording, dir: recordingsDir(config) },
      {
        store: registry.recordings,
        devices: registry.devices,
        streams: media.node,
        // In a cluster, a camera is recorded on the node holding its lease (D39).
        ...(cluster ? { holds: (id: string) => cluster.node.leases.isHeld(id) } : {}),
        node: cluster?.node.id ?? nodeIdOf(config.cluster),
        ...(cluster ? { peers: cluster.archivePeers } : {}),
        log: log.child({ component: 'recordings' }),
      },
    );
    closers.push(() => recordings.close());
    const placement = cluster?.place({ media: media.node, recordings, lingerMs: config.media.lingerMs });
    if (placement) closers.push(() => placement.close());
    const stills = new Stills({
      keyframes: placement ? placedKeyframes(media.node.keyframes, placement.routing) : media.node.keyframes,
      archive: recordings.archive,
    });
    closers.push(() => stills.close());
    // A device whose credentials changed (rotated, revoked, deleted): the broker drops the old
    // session, so its media session ends and no offer (hence no TURN credential) reaches the
    // device until it logs in again; a revoked device never gets one again (deviceIceServers
    // checks it is active). Relay allocations made with credentials of an older secret
    // generation end now (new Allocates with them are already refused by deviceAllowed).
    // External coturn cannot be told: its allocations live until they expire or the
    // credentials do (docs/turn.md).
    const endOldSessions = (deviceId: string): Promise<void> => {
      relay?.recheckDevice(deviceId);
      return broker.recheckCredentials(deviceId);
    };
    // Device events (added, rotated, revoked, recording policy), made here, by the CLI in
    // another process or by another node sharing the registry.
    const onDeviceEvent = async (deviceId: string, kinds: ReadonlySet<DeviceEventKind>) => {
      try {
        await active.refresh(deviceId);
      } catch (err) {
        log.warn({ err, device: deviceId }, 'could not read a changed device from the registry');
      }
      if (kinds.has('rotated') || kinds.has('revoked') || kinds.has('deleted')) void endOldSessions(deviceId);
      await recordings.refresh(deviceId);
    };
    closers.push(registry.watchCredentials((deviceId, kinds) => void onDeviceEvent(deviceId, kinds)));
    const metrics = createServerMetrics(
      { broker, media: media.node, recordings, ...(relay ? { turn: relay } : {}) },
      log.child({ component: 'metrics' }),
    );
    closers.push(() => metrics.close());
    // Set once the HTTP server listens: the edge config's WebSocket URL names its port.
    let httpPort = config.http.port;
    // First run: the first admin may be created from the browser with this code (D38).
    const setupCode = (await registry.users.count()) === 0 ? FirstAdminSetup.newCode() : undefined;
    const http = await createHttpServer(config.http, {
      devices: withLivePresence(devices, (id) => broker.presenceOf(id)),
      deviceAdmin: {
        add: (id, name) => devices.add(id, name),
        rename: (id, name) => devices.rename(id, name),
        setRecording: (id, change) => devices.setRecording(id, change),
        // The old session ends before the answer (the device event would end it too, a poll later).
        rotate: async (id) => {
          const issued = await devices.rotate(id);
          await endOldSessions(id);
          return issued;
        },
        revoke: async (id) => {
          const revoked = await devices.revoke(id);
          await endOldSessions(id);
          return revoked;
        },
        remove: async (id, keepOrDelete) => {
          const deleted = await devices.delete(id, { recordings: keepOrDelete });
          // What the device event will also do, done before answering: the session ends now.
          await endOldSessions(id);
          await recordings.deviceDeleted(id, keepOrDelete === 'delete' ? deleted.segments : undefined);
          stills.forget(id);
          return deleted;
        },
        edgeConfig: (issued) =>
          renderEdgeConfig({
            deviceId: issued.device.id,
            name: issued.device.name,
            secret: issued.secret,
            ...edgeBrokerUrls(config, brokerAddress.port, httpPort),
            topicPrefix: config.mqtt.topicPrefix,
          }),
      },
      tokens: registry.tokens,
      users: registry.users,
      ...(setupCode !== undefined ? { setupCode } : {}),
      whep: media.node,
      ...(placement ? { whepRouting: placement.routing } : {}),
      recordings: {
        archive: recordings.archive,
        devices,
        policyChanged: (id) => void recordings.refresh(id),
      },
      stills,
      mqttWebSocket: {
        handleWebSocket: (ws, req) => broker.handleWebSocket(ws, req),
        // A WebSocket message carries at most one MQTT packet in practice; allow framing slack.
        maxPayload: config.mqtt.maxPacketBytes + 1024,
      },
      events: {
        devices: async () =>
          (await registry.devices.list()).map((d) => ({
            id: d.id,
            name: d.name,
            lastSeenAt: d.lastSeenAt,
            revoked: d.revokedAt !== null,
          })),
        isOnline: (id) => broker.isOnline(id),
        onPresence: (listener) => {
          const online = (id: string) => listener(id, true);
          const offline = (id: string) => listener(id, false);
          broker.on('deviceOnline', online).on('deviceOffline', offline);
          return () => broker.off('deviceOnline', online).off('deviceOffline', offline);
        },
        recording: (id) => recordings.activity(id),
      },
      metrics,
      log: log.child({ component: 'http' }),
      version,
    });
    closers.push(() => http.close());
    httpPort = http.address().port;
    if (setupCode !== undefined) {
      // First run (D34, D38): nobody can sign in yet. One line says how: the one-time setup link
      // (worth nothing once a user exists), or the CLI.
      const url = setupUrl({
        host: config.http.host,
        port: httpPort,
        tls: http.tlsCertificate() !== undefined,
        code: setupCode,
      });
      log
        .child({ component: 'http' })
        .warn(
          { setupUrl: url, hint: 'lookout user add <name> --admin' },
          `no users yet: open ${url} to create the first admin (or run \`lookout user add <name> --admin\`, which prints a password once), then sign in to the web app`,
        );
    }
    cluster?.serving({
      ports: {
        http: http.address().port,
        mqtt: brokerAddress.port,
        turn: relay?.address().udp.port ?? config.turn.port,
      },
      media: media.node,
      recordings: () => recordings.recordingCount,
      inProcessMedia: media.workers === 0,
    });
    let closing: Promise<void> | undefined;
    return {
      config,
      registry: served,
      broker,
      media: media.node,
      mediaWorkers: media.workers,
      recordings,
      http,
      turn: turnService,
      relay,
      cluster: cluster?.node,
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

/** The broker URLs an edge config names, on the ports bound (a configured 0 is whatever the OS chose). */
function edgeBrokerUrls(config: Readonly<Config>, mqttPort: number, httpPort: number) {
  const urls = publicBrokerUrls({ ...config.mqtt, port: mqttPort }, { ...config.http, port: httpPort });
  return { mqttUrl: urls.url, fallbackUrls: config.mqtt.fallbackUrls, wsUrl: urls.wsUrl };
}

/** Where an in-process client reaches a listener bound to `address` (wildcards mean loopback). */
function loopbackFor(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}
