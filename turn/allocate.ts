import { Allocation, type ClientLink, type RelaySocket } from './allocation.js';
import {
  encodeUint32,
  encodeXorAddress,
  FAMILY_IPV4,
  readEvenPort,
  readRequestedFamily,
  readRequestedTransport,
  readUint32,
  TRANSPORT_UDP,
} from './attributes.js';
import type { TurnContext } from './context.js';
import { failure, REASONS, success } from './responses.js';
import { Attr, getAttribute, type StunMessage } from './stun-message.js';
import type { Requester } from './turn-core.js';

/** What an Allocate asks for, once its attributes passed the checks of RFC 8656 §7.2. */
interface AllocateRequest {
  evenPort: boolean;
  reserveNext: boolean;
  token: Buffer | undefined;
  /** The lifetime to grant, seconds. */
  lifetime: number;
}

/** Allocate (RFC 8656 §7.2). */
export async function handleAllocate(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
): Promise<void> {
  const fail = (code: number, reason = REASONS[code]!) =>
    ctx.reply(link, failure(message, code, reason, { key: requester.key }));
  const existing = ctx.table.get(link.key);
  if (existing) {
    // A retransmitted Allocate gets the same answer; any other is a mismatch.
    const retransmit = existing.transactionId === message.transactionId.toString('hex');
    if (retransmit && existing.response) ctx.reply(link, existing.response);
    else fail(437);
    return;
  }
  if (ctx.table.isPending(link.key)) return; // the first Allocate is still binding; it will answer
  // Every attribute is read before anything is reserved: a malformed one throws (400) here,
  // where there is nothing to give back.
  const request = readAllocateRequest(ctx, message);
  if (typeof request === 'number') {
    fail(request);
    return;
  }
  if (!ctx.deviceAllowed(requester.deviceId, requester.generation)) {
    warnNotAllowed(ctx, requester);
    fail(403, 'Device not allowed');
    return;
  }
  // A reserved port holds a quota place until claimed: it is taken first, so its place
  // becomes this allocation's (a device at its quota can claim its own RTCP port).
  const claimed = request.token ? ctx.reservations.take(request.token) : undefined;
  // EVEN-PORT with R holds two sockets, so it needs two places (RFC 8656 §7.2: 486/508).
  const quota = ctx.table.reserve(link.key, requester.deviceId, request.reserveNext ? 2 : 1);
  if (quota !== 'ok') {
    claimed?.close(); // only when another device claims the token: it is spent
    ctx.warn.warn(`quota:${requester.deviceId}`, { device: requester.deviceId, quota }, 'allocation refused');
    fail(quota === 'device-quota' ? 486 : 508);
    return;
  }
  let sockets: RelaySockets | undefined;
  let response: Buffer | undefined;
  let revoked = false;
  try {
    sockets = request.token
      ? wrapReserved(claimed)
      : await ctx.openRelay({ evenPort: request.evenPort, reserveNext: request.reserveNext });
    // revokeDevice() during the bind could not see this allocation (it is not in the table
    // yet), so the device is asked again; and a TCP client may have left meanwhile.
    revoked = sockets !== undefined && !ctx.deviceAllowed(requester.deviceId, requester.generation);
    if (sockets && !revoked && link.isOpen())
      response = goLive(ctx, link, message, requester, request, sockets);
  } catch (err) {
    closeSockets(sockets);
    throw err;
  } finally {
    // The reservation never outlives the request: it became the allocation (then this is
    // a no-op) or it is given back, whatever failed.
    ctx.table.release(link.key);
  }
  if (response) {
    ctx.reply(link, response);
    return;
  }
  closeSockets(sockets);
  if (!sockets) {
    ctx.warn.warn('relay-ports', {}, 'no relay port free or unknown reservation');
    fail(508, request.token ? 'Unknown reservation token' : REASONS[508]);
  } else if (revoked) fail(403, 'Device not allowed');
}

type RelaySockets = NonNullable<Awaited<ReturnType<TurnContext['openRelay']>>>;

/**
 * Makes the allocation and returns its response. Adding it to the table is the last step:
 * if anything before throws, the caller still owns the sockets and closes them.
 */
function goLive(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
  request: AllocateRequest,
  sockets: RelaySockets,
): Buffer {
  const { relay, reserved } = sockets;
  const allocation = new Allocation(
    link,
    requester.username,
    requester.deviceId,
    relay,
    ctx.relayedIp,
    message.transactionId.toString('hex'),
    request.lifetime,
    ctx.now(),
  );
  relay.receive((data, ip, port) => ctx.onPeerPacket(allocation, data, ip, port));
  const token = reserved ? ctx.reservations.add(reserved, requester.deviceId) : undefined;
  try {
    allocation.response = success(message, requester.key, (w) => {
      w.add(
        Attr.xorRelayedAddress,
        encodeXorAddress({ ip: ctx.relayedIp, port: relay.port }, message.transactionId),
      );
      w.add(Attr.lifetime, encodeUint32(request.lifetime));
      if (token) w.add(Attr.reservationToken, token);
      w.add(Attr.xorMappedAddress, encodeXorAddress(link, message.transactionId));
    });
    ctx.table.add(allocation);
  } catch (err) {
    if (token) ctx.reservations.take(token); // its quota place back; the caller closes the socket
    throw err;
  }
  return allocation.response;
}

function closeSockets(sockets: RelaySockets | undefined): void {
  sockets?.relay.close();
  sockets?.reserved?.close();
}

/**
 * The request's options, or the error code that refuses it. Throws `StunAttributeError`
 * (400) on a malformed attribute; it has no side effects, so it runs before any reservation.
 */
function readAllocateRequest(ctx: TurnContext, message: StunMessage): AllocateRequest | number {
  const transport = readRequestedTransport(message);
  if (transport === undefined) return 400;
  if (transport !== TRANSPORT_UDP) return 442;
  const token = getAttribute(message, Attr.reservationToken);
  const family = readRequestedFamily(message);
  const evenPort = readEvenPort(message);
  // §7.2: RESERVATION-TOKEN excludes EVEN-PORT and REQUESTED-ADDRESS-FAMILY.
  if (token && (evenPort || family !== undefined)) return 400;
  if (token && token.length !== 8) return 400;
  // The relay is IPv4 only: 440 for IPv6 (RFC 8656 §7.2, step 4).
  if (family !== undefined && family !== FAMILY_IPV4) return 440;
  const lifetime = grantedLifetime(ctx, readUint32(message, Attr.lifetime), true);
  return { evenPort: evenPort !== undefined, reserveNext: evenPort?.reserve === true, token, lifetime };
}

function wrapReserved(relay: RelaySocket | undefined): RelaySockets | undefined {
  return relay ? { relay } : undefined;
}

/** Refresh (RFC 8656 §7.3): extends the allocation, or deletes it when LIFETIME is 0. */
export function handleRefresh(
  ctx: TurnContext,
  link: ClientLink,
  message: StunMessage,
  requester: Requester,
): void {
  const fail = (code: number, reason = REASONS[code]!) =>
    ctx.reply(link, failure(message, code, reason, { key: requester.key }));
  const allocation = ctx.table.get(link.key);
  if (!allocation) {
    fail(437);
    return;
  }
  if (allocation.username !== requester.username) {
    fail(441);
    return;
  }
  const family = readRequestedFamily(message);
  if (family !== undefined && family !== FAMILY_IPV4) {
    fail(443);
    return;
  }
  if (!ctx.deviceAllowed(requester.deviceId, requester.generation)) {
    warnNotAllowed(ctx, requester);
    ctx.table.remove(allocation, 'revoked');
    fail(403, 'Device not allowed');
    return;
  }
  const requested = readUint32(message, Attr.lifetime);
  const lifetime = requested === 0 ? 0 : grantedLifetime(ctx, requested, false);
  if (lifetime === 0) ctx.table.remove(allocation, 'refresh-0');
  else allocation.refresh(lifetime, ctx.now());
  ctx.reply(
    link,
    success(message, requester.key, (w) => w.add(Attr.lifetime, encodeUint32(lifetime))),
  );
}

/** Once per device and interval: a camera still using credentials from before a rotate or revoke. */
function warnNotAllowed(ctx: TurnContext, requester: Requester): void {
  ctx.warn.warn(
    `not-allowed:${requester.deviceId}`,
    { device: requester.deviceId, generation: requester.generation },
    'TURN request refused: device unknown or revoked, or credentials from before a rotate',
  );
}

/**
 * RFC 8656 §7.2: min(requested, max), but never below the default on Allocate; a Refresh
 * without LIFETIME gets the default.
 */
function grantedLifetime(ctx: TurnContext, requested: number | undefined, allocate: boolean): number {
  const { allocationDefaultSeconds: byDefault, allocationMaxSeconds: max } = ctx.lifetimes;
  if (requested === undefined) return Math.min(byDefault, max);
  const capped = Math.min(requested, max);
  return allocate ? Math.max(capped, Math.min(byDefault, max)) : capped;
}
