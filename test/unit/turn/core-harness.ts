import { randomBytes } from 'node:crypto';
import { RateLimitedLog } from '../../../core/rate-limited-log.js';
import {
  type ClientLink,
  DEFAULT_LIFETIMES,
  type RelaySocket,
  type TurnLifetimes,
} from '../../../turn/allocation.js';
import { AllocationTable } from '../../../turn/allocation-table.js';
import { decodeErrorCode, encodeUint32, encodeXorAddress, TRANSPORT_UDP } from '../../../turn/attributes.js';
import type { TurnContext } from '../../../turn/context.js';
import { issueTurnCredentials } from '../../../turn/credentials.js';
import { DEFAULT_LIMITS, type TurnLimits } from '../../../turn/limits.js';
import { longTermKey } from '../../../turn/long-term-auth.js';
import { NonceIssuer } from '../../../turn/nonce.js';
import { PeerFilter } from '../../../turn/peer-filter.js';
import { Reservations } from '../../../turn/reservations.js';
import {
  Attr,
  decodeStun,
  getAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  StunWriter,
  verifyIntegrity,
} from '../../../turn/stun-message.js';
import { TurnCore } from '../../../turn/turn-core.js';
import { testLogger } from '../../helpers/log.js';

export const SECRET = 'unit-test-secret-0123456789';
export const REALM = 'lookout';

export interface FakeRelay extends RelaySocket {
  sent: Array<{ data: Buffer; ip: string; port: number }>;
  closed: boolean;
  deliver(data: Buffer, ip: string, port: number): void;
}

/** A TurnCore with an injected clock, in-memory relays and in-memory clients: no sockets. */
export function createHarness(
  options: {
    lifetimes?: Partial<TurnLifetimes>;
    limits?: Partial<TurnLimits>;
    /** The `allowPeer` hook of the peer filter (the media node's own sockets). */
    allowPeer?: (ip: string, port: number) => boolean;
    maxAllocations?: number;
    maxPerDevice?: number;
  } = {},
) {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const relays: FakeRelay[] = [];
  let nextPort = 50_000;
  const revoked = new Set<string>();
  const lifetimes = { ...DEFAULT_LIFETIMES, ...options.lifetimes };
  const log = testLogger();
  const reservations = new Reservations(now);
  const table = new AllocationTable(
    { maxAllocations: options.maxAllocations ?? 100, maxAllocationsPerDevice: options.maxPerDevice ?? 10 },
    reservations,
    log,
    now,
  );
  let core: TurnCore | undefined;
  const ctx: TurnContext = {
    realm: REALM,
    secret: SECRET,
    lifetimes,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    now,
    table,
    filter: new PeerFilter({
      allowed: [],
      denied: [],
      ...(options.allowPeer ? { allowPeer: options.allowPeer } : {}),
    }),
    nonces: new NonceIssuer(lifetimes.nonceSeconds * 1000, now),
    log,
    warn: new RateLimitedLog(log, now),
    counters: { packetsToPeers: 0, packetsFromPeers: 0, bytesToPeers: 0, bytesFromPeers: 0, malformed: 0 },
    relayedIp: '203.0.113.1',
    deviceAllowed: (id) => !revoked.has(id),
    reservations,
    openRelay: async (request) => {
      const open = (port: number): FakeRelay => {
        let receiver: ((data: Buffer, ip: string, port: number) => void) | undefined;
        const relay: FakeRelay = {
          port,
          sent: [],
          closed: false,
          send(data, ip, peerPort) {
            this.sent.push({ data: Buffer.from(data), ip, port: peerPort });
          },
          receive: (handler) => {
            receiver = handler;
          },
          close() {
            this.closed = true;
          },
          deliver: (data, ip, peerPort) => receiver?.(data, ip, peerPort),
        };
        relays.push(relay);
        return relay;
      };
      nextPort += nextPort % 2; // even
      const relay = open(nextPort++);
      return request.reserveNext ? { relay, reserved: open(nextPort++) } : { relay };
    },
    onPeerPacket: (allocation, data, ip, port) => core?.handlePeerPacket(allocation, data, ip, port),
    reply: (link, data) => link.send(data),
  };
  core = new TurnCore(ctx);
  return {
    core,
    ctx,
    table,
    relays,
    revoked,
    advance(ms: number) {
      clock += ms;
      table.sweep();
      ctx.reservations.sweep();
    },
    now,
    client(deviceId = 'cam1', port = 40_000): FakeClient {
      return new FakeClient(
        core!,
        port,
        issueTurnCredentials({ secret: SECRET, deviceId, ttlSeconds: 86_400, nowMs: clock }),
      );
    },
  };
}

export interface Reply {
  code: number;
  message: StunMessage;
  integrityOk: boolean;
}

/** An in-memory client: builds requests, feeds them to the core, collects what it sends back. */
export class FakeClient {
  readonly inbox: Buffer[] = [];
  readonly link: ClientLink;
  nonce = '';
  password: string;

  constructor(
    readonly core: TurnCore,
    port: number,
    readonly credentials: { username: string; credential: string },
  ) {
    this.password = credentials.credential;
    this.link = {
      key: `udp:198.51.100.7:${port}`,
      transport: 'udp',
      ip: '198.51.100.7',
      port,
      send: (d) => this.inbox.push(Buffer.from(d)),
      isOpen: () => true,
    };
  }

  get key(): Buffer {
    return longTermKey(this.credentials.username, REALM, this.password);
  }

  /** Sends one request; with `auth`, a first 401 fetches the nonce and the request is resent. */
  async request(
    method: number,
    attrs: (id: Buffer) => Array<[number, Buffer]> = () => [],
    auth = true,
  ): Promise<Reply> {
    if (auth && !this.nonce) await this.#fetchNonce(method);
    const writer = new StunWriter(method, StunClass.request, randomBytes(12));
    for (const [t, v] of attrs(writer.transactionId)) writer.add(t, v);
    if (auth) {
      writer.add(Attr.username, Buffer.from(this.credentials.username));
      writer.add(Attr.realm, Buffer.from(REALM));
      writer.add(Attr.nonce, Buffer.from(this.nonce));
    }
    return this.send(writer.encode(auth ? { integrityKey: this.key } : {}));
  }

  /** Feeds raw bytes; resolves with the reply (or undefined when none came). */
  async send(packet: Buffer): Promise<Reply> {
    const before = this.inbox.length;
    this.core.handleClientPacket(this.link, packet);
    await new Promise((resolve) => setImmediate(resolve));
    const raw = this.inbox[before];
    if (!raw) throw new Error('no reply');
    const message = decodeStun(raw)!;
    const error = getAttribute(message, Attr.errorCode);
    const code = message.cls === StunClass.error && error ? decodeErrorCode(error).code : 0;
    return { code, message, integrityOk: verifyIntegrity(message, this.key) };
  }

  allocate(extra: Array<[number, Buffer]> = []): Promise<Reply> {
    return this.request(StunMethod.allocate, () => [
      [Attr.requestedTransport, Buffer.from([TRANSPORT_UDP, 0, 0, 0])],
      ...extra,
    ]);
  }

  refresh(lifetime?: number): Promise<Reply> {
    return this.request(StunMethod.refresh, () =>
      lifetime === undefined ? [] : [[Attr.lifetime, encodeUint32(lifetime)]],
    );
  }

  createPermission(ip: string, port = 5000): Promise<Reply> {
    return this.request(StunMethod.createPermission, (id) => [
      [Attr.xorPeerAddress, encodeXorAddress({ ip, port }, id)],
    ]);
  }

  async #fetchNonce(method: number): Promise<void> {
    const writer = new StunWriter(method, StunClass.request, randomBytes(12));
    const reply = await this.send(writer.encode());
    this.nonce = getAttribute(reply.message, Attr.nonce)?.toString() ?? '';
  }
}

export { Attr, StunMethod };
