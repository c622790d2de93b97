import ipaddr from 'ipaddr.js';

/**
 * The key a source address is counted under by the per-address limits (pending connections,
 * login back-off). An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
 * listener reports) counts as its IPv4 address, and an IPv6 address as its /64: one host
 * commonly holds a whole /64 (RFC 4941 temporary addresses, SLAAC), so per-address limits
 * on full IPv6 addresses would be per-host limits in name only.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = v6.parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
