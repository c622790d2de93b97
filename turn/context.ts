import type { Logger } from '../core/log.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';
import type { Allocation, ClientLink, RelaySocket, TurnLifetimes } from './allocation.js';
import type { AllocationTable } from './allocation-table.js';
import type { TurnLimits } from './limits.js';
import type { NonceIssuer } from './nonce.js';
import type { PeerFilter } from './peer-filter.js';
import type { Reservations } from './reservations.js';

/** Counters reported by `stats()`. */
export interface TurnCounters {
  packetsToPeers: number;
  packetsFromPeers: number;
  bytesToPeers: number;
  bytesFromPeers: number;
  malformed: number;
}

/** What the request handlers share: state, policy and the narrow I/O they need. */
export interface TurnContext {
  readonly realm: string;
  readonly secret: string;
  readonly lifetimes: TurnLifetimes;
  readonly limits: TurnLimits;
  readonly now: () => number;
  readonly table: AllocationTable;
  readonly filter: PeerFilter;
  readonly nonces: NonceIssuer;
  readonly log: Logger;
  readonly warn: RateLimitedLog;
  readonly counters: TurnCounters;
  /** Advertised relay IP (XOR-RELAYED-ADDRESS): `externalAddress` or the relay bind address. */
  readonly relayedIp: string;
  /** Whether a credential of `deviceId` issued under secret `generation` may allocate and refresh. */
  deviceAllowed(deviceId: string, generation: number | undefined): boolean;
  /** Relay sockets reserved for a later Allocate with RESERVATION-TOKEN. */
  readonly reservations: Reservations;
  /**
   * Binds a relay socket (an even port when asked; with `reserveNext` also the next port);
   * undefined when none is free (508).
   */
  openRelay(options: {
    evenPort: boolean;
    reserveNext: boolean;
  }): Promise<{ relay: RelaySocket; reserved?: RelaySocket } | undefined>;
  /** Delivers a packet a relay socket received (wired to `TurnCore.handlePeerPacket`). */
  onPeerPacket(allocation: Allocation, data: Buffer, ip: string, port: number): void;
  /** Sends a response to the client. */
  reply(link: ClientLink, data: Buffer): void;
}
