/**
 * Bounds on what one client can make the server hold, beside the allocation quotas of the
 * `turn.*` config (`maxAllocationsPerDevice`, `maxAllocations`). Not config keys: they are
 * far above what a camera or a browser uses, and only tests change them.
 */
export interface TurnLimits {
  /**
   * XOR-PEER-ADDRESS attributes in one CreatePermission; beyond, 508 (RFC 8656 §10.2: "unable
   * to fulfil the request due to some capacity limit"). One request can carry thousands.
   */
  peersPerRequest: number;
  /** Peer IPs with a permission on one allocation (RFC 8656 §9); a new one beyond: 508. */
  permissionsPerAllocation: number;
  /**
   * Channel numbers held by one allocation, including those cooling down for 5 minutes after
   * expiry (RFC 8656 §12); a new binding beyond: 508 (§11.2).
   */
  channelsPerAllocation: number;
  /** TCP/TLS connections from one source IP that hold no allocation; beyond, closed at once. */
  tcpConnectionsPerIp: number;
  /** How long a new TCP/TLS connection has to make an allocation before it is closed. */
  tcpAllocationDeadlineSeconds: number;
}

export const DEFAULT_LIMITS: TurnLimits = {
  peersPerRequest: 32,
  permissionsPerAllocation: 256,
  channelsPerAllocation: 256,
  tcpConnectionsPerIp: 16,
  tcpAllocationDeadlineSeconds: 30,
};
