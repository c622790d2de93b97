import type { Allocation, ClientLink, PeerVerdict } from './allocation.js';
import { readChannelNumber, readPeerAddresses, type TransportAddress } from './attributes.js';
import { isValidChannel } from './channel-data.js';
import type { TurnContext } from './context.js';
import { failure, REASONS, success } from './responses.js';
import { Attr, getAttribute, type StunMessage } from './stun-message.js';
import type { Requester } from './turn-core.js';

/** CreatePermission (RFC 8656 §10): all peers are installed, or none. */
export function handleCreatePermission(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
): void {
  const allocation = allocationOf(ctx, link, message, requester);
  if (!allocation) return;
  // Counted before decoding: a 64 KB request can carry some 5000 peers.
  const count = message.attributes.filter((a) => a.type === Attr.xorPeerAddress).length;
  if (count > ctx.limits.peersPerRequest) {
    reject(ctx, link, message, requester, 508, 'Too many peers in one request');
    return;
  }
  const peers = readPeerAddresses(message);
  if (peers.length === 0) {
    reject(ctx, link, message, requester, 400, 'XOR-PEER-ADDRESS missing');
    return;
  }
  for (const peer of peers) {
    const refusal = peerRefusal(ctx, allocation, peer);
    if (refusal) {
      reject(ctx, link, message, requester, refusal);
      return;
    }
  }
  if (
    !roomForPermissions(
      ctx,
      allocation,
      peers.map((p) => p.ip),
    )
  ) {
    reject(ctx, link, message, requester, 508, 'Too many permissions');
    return;
  }
  const now = ctx.now();
  for (const peer of peers) allocation.installPermission(peer.ip, ctx.lifetimes.permissionSeconds, now);
  ctx.reply(link, success(message, requester.key));
}

/** ChannelBind (RFC 8656 §11.2): binds or refreshes a channel and installs its permission. */
export function handleChannelBind(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
): void {
  const allocation = allocationOf(ctx, link, message, requester);
  if (!allocation) return;
  const channel = readChannelNumber(message);
  const peers = readPeerAddresses(message);
  const peer = peers[0];
  if (channel === undefined || !isValidChannel(channel) || !peer || peers.length > 1) {
    reject(ctx, link, message, requester, 400, 'Bad CHANNEL-NUMBER or XOR-PEER-ADDRESS');
    return;
  }
  const refusal = peerRefusal(ctx, allocation, peer);
  if (refusal) {
    reject(ctx, link, message, requester, refusal);
    return;
  }
  const channelsFull =
    !allocation.hasChannel(channel) && allocation.channelsHeld >= ctx.limits.channelsPerAllocation;
  if (channelsFull || !roomForPermissions(ctx, allocation, [peer.ip])) {
    reject(ctx, link, message, requester, 508, channelsFull ? 'Too many channels' : 'Too many permissions');
    return;
  }
  const now = ctx.now();
  if (!allocation.bindChannel(channel, peer.ip, peer.port, ctx.lifetimes.channelSeconds, now)) {
    reject(ctx, link, message, requester, 400, 'Channel or peer bound differently');
    return;
  }
  allocation.installPermission(peer.ip, ctx.lifetimes.permissionSeconds, now);
  ctx.reply(link, success(message, requester.key));
}

/** Send indication (RFC 8656 §11.3): relayed when a permission exists, silently dropped otherwise. */
export function handleSend(ctx: TurnContext, link: ClientLink, message: StunMessage): void {
  const allocation = ctx.table.get(link.key);
  if (!allocation) return;
  const data = getAttribute(message, Attr.data);
  const peer = readPeerAddresses(message)[0];
  if (!data || !peer || peer.family !== 4) return;
  const now = ctx.now();
  if (!allocation.hasPermission(peer.ip, now) || !peerAllowed(ctx, allocation, peer.ip, peer.port, now))
    return;
  ctx.counters.packetsToPeers++;
  ctx.counters.bytesToPeers += data.length;
  allocation.relay.send(data, peer.ip, peer.port);
}

/**
 * How long a verdict of the peer filter is trusted. The `allowPeer` hook answers for ports
 * of the media node that come and go: a loopback port it owned may belong to another
 * process a moment later, so its verdict must not last as long as a permission (300 s).
 */
const PEER_VERDICT_MS = 5000;

/**
 * Whether the filter allows `ip:port`, remembered for a few seconds in the allocation's
 * verdict slot of that peer (`slot`: a channel binding's, looked up when not given).
 * Permissions are per IP (RFC 8656 §9), but the `allowPeer` hook may allow only some ports of
 * a host, so the verdict is checked for every peer port a packet goes to or comes from; the
 * cache makes that at most one map lookup per packet (none on a channel), and one filter call
 * per peer every 5 s.
 */
export function peerAllowed(
  ctx: TurnContext,
  allocation: Allocation,
  ip: string,
  port: number,
  now = ctx.now(),
  slot: PeerVerdict = allocation.verdictSlot(ip, port),
): boolean {
  if (now < slot.until) return slot.allowed;
  slot.allowed = ctx.filter.allows(ip, port);
  slot.until = now + PEER_VERDICT_MS;
  return slot.allowed;
}

/**
 * Whether installing permissions for `ips` stays within the cap. Refreshing existing ones
 * always fits; expired ones still count until the next sweep (at most a second).
 */
function roomForPermissions(ctx: TurnContext, allocation: Allocation, ips: readonly string[]): boolean {
  const added = allocation.newPermissions(ips);
  return added === 0 || allocation.permissionCount + added <= ctx.limits.permissionsPerAllocation;
}

/** 403 for a forbidden peer, 443 for an IPv6 peer (the relay is IPv4), else undefined. */
function peerRefusal(
  ctx: TurnContext,
  allocation: Allocation,
  peer: TransportAddress,
): 403 | 443 | undefined {
  if (!peerAllowed(ctx, allocation, peer.ip, peer.port)) {
    ctx.warn.warn(
      `forbidden-peer:${allocation.deviceId}`,
      { device: allocation.deviceId, peer: peer.ip },
      'relay to a forbidden peer refused',
    );
    return 403;
  }
  return peer.family === 4 ? undefined : 443;
}

/** The requester's allocation, or undefined after answering 437/441. */
function allocationOf(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
): Allocation | undefined {
  const allocation = ctx.table.get(link.key);
  if (!allocation) reject(ctx, link, message, requester, 437);
  else if (allocation.username !== requester.username) reject(ctx, link, message, requester, 441);
  else return allocation;
  return undefined;
}

function reject(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
  code: number,
  reason = REASONS[code]!,
): void {
  ctx.reply(link, failure(message, code, reason, { key: requester.key }));
}
