/**
 * One TURN allocation (RFC 8656 §2.2, §7-§9): the client's 5-tuple, its relay socket, its
 * permissions (per peer IP, §9) and channel bindings (§12). Pure state with an injected
 * clock: expiry is a time compared against `now`, swept by the owner.
 */

/** The client side of a 5-tuple: a UDP source or one TCP connection to the server. */
export interface ClientLink {
  /** Unique per 5-tuple: `udp:ip:port` or `tcp:<connection id>`. */
  readonly key: string;
  readonly transport: 'udp' | 'tcp';
  readonly ip: string;
  readonly port: number;
  send(data: Buffer): void;
  /** False once a TCP connection has closed (always true for UDP). */
  isOpen(): boolean;
}

/** A relay socket owned by one allocation (or held by a reservation until claimed). */
export interface RelaySocket {
  readonly port: number;
  send(data: Buffer, ip: string, port: number): void;
  /** Where packets from peers go; dropped until set. */
  receive(handler: (data: Buffer, ip: string, port: number) => void): void;
  close(): void;
}

export interface TurnLifetimes {
  /** Allocation lifetime when the client asks for none or less (RFC 8656 §3.2: 600 s). */
  allocationDefaultSeconds: number;
  /** Longest allocation lifetime granted (3600 s). */
  allocationMaxSeconds: number;
  /** Permission lifetime, not negotiable (RFC 8656 §9: 300 s). */
  permissionSeconds: number;
  /** Channel binding lifetime (RFC 8656 §12: 600 s). */
  channelSeconds: number;
  /** How long a nonce stays valid before it earns a 438. */
  nonceSeconds: number;
}

export const DEFAULT_LIFETIMES: TurnLifetimes = {
  allocationDefaultSeconds: 600,
  allocationMaxSeconds: 3600,
  permissionSeconds: 300,
  channelSeconds: 600,
  nonceSeconds: 600,
};

const CHANNEL_COOLDOWN_MS = 300_000;

/** A cached verdict of the peer filter for one `ip:port` (see `peerAllowed`). */
export interface PeerVerdict {
  allowed: boolean;
  /** Trusted until this time; 0 when never asked. */
  until: number;
}

/**
 * A channel binding. It holds the filter's verdict slot of its peer, so a ChannelData packet
 * costs no lookup keyed by a string built per packet.
 */
export interface ChannelBinding {
  readonly channel: number;
  readonly ip: string;
  readonly port: number;
  expiresAt: number;
  readonly verdict: PeerVerdict;
}

/** Verdicts kept per allocation; beyond, all are dropped (and asked again). */
const MAX_PEER_VERDICTS = 256;

export class Allocation {
  readonly createdAt: number;
  expiresAt: number;
  /** The Allocate success, resent verbatim on a retransmitted Allocate (RFC 8656 §7.2). */
  response: Buffer | undefined;
  readonly #permissions = new Map<string, number>();
  readonly #channels = new Map<number, ChannelBinding>();
  /** Bindings by peer port, then peer IP: no key string to build for a packet from a peer. */
  readonly #channelByPeer = new Map<number, Map<string, ChannelBinding>>();
  /** Per `ip|port` verdicts of the peer filter (channel bindings hold theirs too). */
  readonly #peerVerdicts = new Map<string, PeerVerdict>();

  constructor(
    readonly client: ClientLink,
    readonly username: string,
    readonly deviceId: string,
    readonly relay: RelaySocket,
    readonly relayedIp: string,
    readonly transactionId: string,
    lifetimeSeconds: number,
    now: number,
  ) {
    this.createdAt = now;
    this.expiresAt = now + lifetimeSeconds * 1000;
  }

  refresh(lifetimeSeconds: number, now: number): void {
    this.expiresAt = now + lifetimeSeconds * 1000;
  }

  isExpired(now: number): boolean {
    return now >= this.expiresAt;
  }

  installPermission(ip: string, lifetimeSeconds: number, now: number): void {
    this.#permissions.set(ip, now + lifetimeSeconds * 1000);
  }

  hasPermission(ip: string, now: number): boolean {
    const expiresAt = this.#permissions.get(ip);
    return expiresAt !== undefined && now < expiresAt;
  }

  /**
   * Binds (or refreshes) `channel` to `ip:port`; false when either is already bound to
   * something else (RFC 8656 §12.2: 400).
   */
  bindChannel(channel: number, ip: string, port: number, lifetimeSeconds: number, now: number): boolean {
    const existing = this.#channels.get(channel);
    const byPeer = this.#channelByPeer.get(port)?.get(ip);
    if (existing && (existing.ip !== ip || existing.port !== port)) return false;
    if (byPeer !== undefined && byPeer.channel !== channel) return false;
    const expiresAt = now + lifetimeSeconds * 1000;
    if (existing) {
      existing.expiresAt = expiresAt; // a refresh keeps the binding and its cached verdict
      return true;
    }
    const binding: ChannelBinding = { channel, ip, port, expiresAt, verdict: this.verdictSlot(ip, port) };
    this.#channels.set(channel, binding);
    let ips = this.#channelByPeer.get(port);
    if (!ips) {
      ips = new Map();
      this.#channelByPeer.set(port, ips);
    }
    ips.set(ip, binding);
    return true;
  }

  /** The live binding of `channel` (its peer and cached verdict). */
  channelPeer(channel: number, now: number): ChannelBinding | undefined {
    const binding = this.#channels.get(channel);
    return binding !== undefined && now < binding.expiresAt ? binding : undefined;
  }

  /** The live channel binding of `ip:port`, if any. */
  bindingFor(ip: string, port: number, now: number): ChannelBinding | undefined {
    const binding = this.#channelByPeer.get(port)?.get(ip);
    return binding !== undefined && now < binding.expiresAt ? binding : undefined;
  }

  /** The live channel bound to `ip:port`, if any. */
  channelFor(ip: string, port: number, now: number): number | undefined {
    return this.bindingFor(ip, port, now)?.channel;
  }

  /** Where the filter's verdict for `ip:port` is cached (a new, expired slot if none). */
  verdictSlot(ip: string, port: number): PeerVerdict {
    const key = `${ip}|${port}`;
    let slot = this.#peerVerdicts.get(key);
    if (slot === undefined) {
      if (this.#peerVerdicts.size >= MAX_PEER_VERDICTS) this.#peerVerdicts.clear();
      slot = { allowed: false, until: 0 };
      this.#peerVerdicts.set(key, slot);
    }
    return slot;
  }

  /** Drops expired permissions and channel bindings (RFC 8656 §9, §12). */
  prune(now: number): void {
    for (const [ip, expiresAt] of this.#permissions) if (now >= expiresAt) this.#permissions.delete(ip);
    for (const [channel, binding] of this.#channels) {
      // RFC 8656 §12: an expired binding's number and peer stay unavailable for other
      // bindings for 5 more minutes, so late packets cannot reach the wrong peer.
      if (now >= binding.expiresAt + CHANNEL_COOLDOWN_MS) {
        this.#channels.delete(channel);
        const ips = this.#channelByPeer.get(binding.port);
        ips?.delete(binding.ip);
        if (ips?.size === 0) this.#channelByPeer.delete(binding.port);
      }
    }
  }

  get permissionCount(): number {
    return this.#permissions.size;
  }

  /** How many of `ips` would be new permissions (not refreshes of existing ones). */
  newPermissions(ips: readonly string[]): number {
    return new Set(ips.filter((ip) => !this.#permissions.has(ip))).size;
  }

  /** Channel numbers held: live bindings and those cooling down after expiry. */
  get channelsHeld(): number {
    return this.#channels.size;
  }

  hasChannel(channel: number): boolean {
    return this.#channels.has(channel);
  }

  /** Live channel bindings (not those cooling down after expiry). */
  channelCount(now: number): number {
    let count = 0;
    for (const binding of this.#channels.values()) if (now < binding.expiresAt) count++;
    return count;
  }
}
