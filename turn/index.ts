import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import type { TurnConfig } from '../config/index.js';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { DEFAULT_LIFETIMES, type TurnLifetimes } from './allocation.js';
import { AllocationTable } from './allocation-table.js';
import type { TurnContext, TurnCounters } from './context.js';
import { parseTurnUsername } from './credentials.js';
import { DEFAULT_LIMITS, type TurnLimits } from './limits.js';
import { NonceIssuer } from './nonce.js';
import { PeerFilter } from './peer-filter.js';
import { RelayPortPool } from './relay-ports.js';
import { Reservations } from './reservations.js';
import { firstLanIpv4, TurnListeners } from './server.js';
import { TurnCore } from './turn-core.js';

export {
  issueTurnCredentials,
  parseTurnUsername,
  type TurnCredentials,
  turnPassword,
  verifyTurnCredentials,
} from './credentials.js';
export { DEFAULT_DENIED_PEER_RANGES } from './peer-filter.js';
export type { TurnLifetimes, TurnLimits };

/** The parts of `TurnConfig` the embedded server reads (a whole `TurnConfig` fits). */
export type TurnServerConfig = Pick<
  TurnConfig,
  | 'host'
  | 'port'
  | 'realm'
  | 'externalAddress'
  | 'relayAddress'
  | 'relayPortMin'
  | 'relayPortMax'
  | 'allowedPeerIps'
  | 'deniedPeerIps'
  | 'maxAllocationsPerDevice'
  | 'maxAllocations'
> & {
  /** Protocol timers; the RFC 8656 values by default. Tests shorten them. */
  lifetimes?: Partial<TurnLifetimes>;
  /** Per-client bounds (`DEFAULT_LIMITS` in `limits.ts`, docs/turn-server.md). Tests lower them. */
  limits?: Partial<TurnLimits>;
  /** A TLS listener (`turns:`) on `host:port` with this PEM certificate chain and key. */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
};

export interface TurnServerDeps {
  /**
   * The caller's logger, already named (`lookout serve` passes `{ component: 'turn' }`): a
   * second child setting `component` would print the key twice in every line.
   */
  log: Logger;
  /** TURN REST API shared secret (`turn.secret`). */
  secret: string;
  /**
   * False for a revoked or unknown device, or a credential issued under another secret
   * `generation` than the device's current one (it was rotated since): its Allocate and
   * Refresh get 403.
   */
  deviceAllowed(deviceId: string, generation: number | undefined): boolean;
  /** Asked before the peer filter; true allows `ip:port` (e.g. the media node's own ICE sockets). */
  allowPeer?(ip: string, port: number): boolean;
  /** Clock in ms (Date.now by default); tests inject one. */
  now?: () => number;
}

export interface TurnStats extends TurnCounters {
  allocations: number;
  permissions: number;
  channels: number;
  relaySockets: number;
  /** Ports held for a RESERVATION-TOKEN (EVEN-PORT with R). */
  reservations: number;
  tcpConnections: number;
}

export interface TurnServer {
  /** Releases every socket (listeners, relays, TCP connections). Idempotent. */
  close(): Promise<void>;
  /** Where the listeners are bound (UDP and TCP share the port; TLS when configured). */
  address(): { udp: AddressInfo; tcp: AddressInfo; tls?: AddressInfo };
  /** Ends the device's allocations now (relay sockets closed); returns how many. */
  revokeDevice(deviceId: string): number;
  /**
   * Asks `deviceAllowed` again about each of the device's allocations, with the generation of
   * the credential it was made with, and ends those no longer allowed (after a rotate: the
   * allocations of the old secret's credentials); returns how many.
   */
  recheckDevice(deviceId: string): number;
  stats(): TurnStats;
}

/** Sweep period for expired allocations, permissions and channels. */
const SWEEP_MS = 1000;

/**
 * Starts the embedded TURN/STUN server (RFC 8656 over UDP and TCP, relaying over UDP/IPv4,
 * long-term credentials from the TURN REST API secret). Resolves once both listeners are
 * bound; rejects with `TURN_BIND_FAILED` or `TURN_BAD_CONFIG`.
 */
export async function createTurnServer(config: TurnServerConfig, deps: TurnServerDeps): Promise<TurnServer> {
  const log = deps.log;
  const now = deps.now ?? Date.now;
  const lifetimes: TurnLifetimes = { ...DEFAULT_LIFETIMES, ...config.lifetimes };
  checkRelayAddresses(config);
  const bindAddress =
    config.relayAddress ??
    (isWildcard(config.host) || !ipaddr.IPv4.isValid(config.host) ? '0.0.0.0' : config.host);
  const relayedIp =
    config.externalAddress ?? (bindAddress !== '0.0.0.0' ? bindAddress : (firstLanIpv4() ?? '127.0.0.1'));
  const filter = peerFilter(config, deps, ownAddresses(config.host, bindAddress, relayedIp));
  const relays = new RelayPortPool({ bindAddress, min: config.relayPortMin, max: config.relayPortMax }, log);
  const reservations = new Reservations(now);
  const table = new AllocationTable(config, reservations, log, now);
  const counters: TurnCounters = {
    packetsToPeers: 0,
    packetsFromPeers: 0,
    bytesToPeers: 0,
    bytesFromPeers: 0,
    malformed: 0,
  };
  let core: TurnCore | undefined;
  const ctx: TurnContext = {
    realm: config.realm,
    secret: deps.secret,
    lifetimes,
    limits: { ...DEFAULT_LIMITS, ...config.limits },
    now,
    table,
    filter,
    nonces: new NonceIssuer(lifetimes.nonceSeconds * 1000, now),
    log,
    warn: new RateLimitedLog(log, now),
    counters,
    relayedIp,
    deviceAllowed: (id, generation) => deps.deviceAllowed(id, generation),
    reservations,
    openRelay: (request) => relays.open(request),
    onPeerPacket: (allocation, data, ip, port) => core?.handlePeerPacket(allocation, data, ip, port),
    reply: (link, data) => link.send(data),
  };
  core = new TurnCore(ctx);
  // Every allocation may hold a TCP connection, plus room for clients still authenticating.
  const maxTcpConnections = config.maxAllocations * 2 + 100;
  const listeners = await TurnListeners.listen(
    {
      ...config,
      maxTcpConnections,
      tcp: {
        perIp: ctx.limits.tcpConnectionsPerIp,
        allocationDeadlineMs: ctx.limits.tcpAllocationDeadlineSeconds * 1000,
      },
    },
    core,
    log,
    (key) => table.get(key)?.client,
    (ip, port) => table.getUdp(ip, port),
  );
  if (config.tls) {
    try {
      await listeners.listenTls({ host: config.host, ...config.tls });
    } catch (err) {
      await listeners.close();
      throw err;
    }
  }
  const sweeper = setInterval(() => {
    table.sweep();
    reservations.sweep();
  }, SWEEP_MS);
  sweeper.unref();
  log.info({ ...listeners.address().udp, relayedIp, bindAddress }, 'TURN server listening (UDP and TCP)');

  let closing: Promise<void> | undefined;
  return {
    close: () => {
      closing ??= (async () => {
        clearInterval(sweeper);
        table.removeWhere(() => true, 'server-closed');
        reservations.closeAll();
        relays.shutdown(); // also relays of Allocates still binding
        await listeners.close();
      })();
      return closing;
    },
    address: () => listeners.address(),
    revokeDevice: (deviceId) => table.removeWhere((a) => a.deviceId === deviceId, 'revoked'),
    recheckDevice: (deviceId) =>
      table.removeWhere(
        (a) =>
          a.deviceId === deviceId && !deps.deviceAllowed(deviceId, parseTurnUsername(a.username)?.generation),
        'revoked',
      ),
    stats: () => {
      let permissions = 0;
      let channels = 0;
      for (const a of table.values()) {
        permissions += a.permissionCount;
        channels += a.channelCount(now());
      }
      const allocations = table.size;
      return {
        ...counters,
        allocations,
        permissions,
        channels,
        relaySockets: relays.openCount,
        reservations: reservations.size,
        tcpConnections: listeners.tcpConnections,
      };
    },
  };
}

/** The relay is UDP over IPv4: its bind and advertised addresses must be IPv4. */
function checkRelayAddresses(config: TurnServerConfig): void {
  for (const key of ['relayAddress', 'externalAddress'] as const) {
    const value = config[key];
    if (value !== undefined && !ipaddr.IPv4.isValidFourPartDecimal(value)) {
      throw new LookoutError('TURN_BAD_CONFIG', `'turn.${key}' must be an IPv4 address (relays are IPv4)`, {
        key,
        value,
      });
    }
  }
}

/**
 * The addresses the server listens, relays and is reached on; every address of the host
 * when it binds a wildcard (as they are at start-up).
 */
function ownAddresses(host: string, bindAddress: string, relayedIp: string): string[] {
  const own = new Set([host, bindAddress, relayedIp].filter((ip) => ipaddr.isValid(ip) && !isWildcard(ip)));
  if (isWildcard(host) || isWildcard(bindAddress)) {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) if (ipaddr.isValid(a.address)) own.add(a.address);
    }
  }
  return [...own];
}

function peerFilter(config: TurnServerConfig, deps: TurnServerDeps, own: readonly string[]): PeerFilter {
  for (const [key, list] of [
    ['allowedPeerIps', config.allowedPeerIps],
    ['deniedPeerIps', config.deniedPeerIps],
  ] as const) {
    for (const cidr of list) {
      const valid = cidr.includes('/') ? ipaddr.isValidCIDR(cidr) : ipaddr.isValid(cidr);
      if (!valid)
        throw new LookoutError('TURN_BAD_CONFIG', `'turn.${key}': '${cidr}' is not an IP or CIDR range`, {
          key,
          cidr,
        });
    }
  }
  return new PeerFilter({
    allowed: config.allowedPeerIps,
    denied: config.deniedPeerIps,
    own,
    ...(deps.allowPeer ? { allowPeer: (ip: string, port: number) => deps.allowPeer!(ip, port) } : {}),
  });
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}
