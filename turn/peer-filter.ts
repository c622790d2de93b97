import ipaddr from 'ipaddr.js';

/**
 * Which peers the relay may talk to. Defaults follow coturn's safe settings: a TURN server
 * must not become a door into the host or its LAN (loopback, private, link-local, cloud
 * metadata at 169.254.169.254...). IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and
 * 6to4 (2002::/16) addresses are judged by the IPv4 address they carry.
 */

/** Ranges denied unless `allowed` (or the `allowPeer` hook) says otherwise. */
export const DEFAULT_DENIED_PEER_RANGES: readonly string[] = [
  '0.0.0.0/8', // unspecified, "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12', // private
  '192.168.0.0/16', // private
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, includes 255.255.255.255 broadcast
  '::/128', // unspecified
  '::1/128', // loopback
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'ff00::/8', // multicast
];

export interface PeerFilterOptions {
  /** CIDR ranges allowed even though denied by default; allow wins over deny. */
  allowed: readonly string[];
  /** Extra CIDR ranges to deny. */
  denied: readonly string[];
  /**
   * The server's own addresses (listeners, relays, the advertised address), denied like the
   * default ranges: a relay pointed at the server itself reaches its listener, other
   * allocations' relays and whatever else listens there. The hook (the media node's ICE
   * sockets on this host) and `allowed` still win.
   */
  own?: readonly string[];
  /** Asked first; `true` allows the peer whatever the lists say (the media node's own sockets). */
  allowPeer?: (ip: string, port: number) => boolean;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export class PeerFilter {
  readonly #allowed: Range[];
  readonly #denied: Range[];
  readonly #allowPeer: ((ip: string, port: number) => boolean) | undefined;

  constructor(options: PeerFilterOptions) {
    this.#allowed = options.allowed.map(parseRange);
    this.#denied = [...DEFAULT_DENIED_PEER_RANGES, ...options.denied, ...(options.own ?? [])].map(parseRange);
    this.#allowPeer = options.allowPeer;
  }

  /** True when the relay may exchange packets with `ip:port`. Never throws. */
  allows(ip: string, port: number): boolean {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      address = effectiveAddress(ipaddr.parse(ip));
    } catch {
      return false;
    }
    if (this.#allowPeer?.(address.toString(), port) || this.#allowPeer?.(ip, port)) return true;
    if (matchesAny(address, this.#allowed)) return true;
    return !matchesAny(address, this.#denied);
  }
}

function parseRange(cidr: string): Range {
  return cidr.includes('/') ? ipaddr.parseCIDR(cidr) : hostRange(ipaddr.parse(cidr));
}

function hostRange(address: ipaddr.IPv4 | ipaddr.IPv6): Range {
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

function matchesAny(address: ipaddr.IPv4 | ipaddr.IPv6, ranges: Range[]): boolean {
  return ranges.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits));
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), else itself. */
function effectiveAddress(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (address.kind() === 'ipv4') return address;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const bytes = v6.toByteArray();
  if (v6.match(NAT64)) return ipaddr.fromByteArray(bytes.slice(12)) as ipaddr.IPv4;
  if (v6.match(SIX_TO_FOUR)) return ipaddr.fromByteArray(bytes.slice(2, 6)) as ipaddr.IPv4;
  return v6;
}

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
