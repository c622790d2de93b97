import { Allocation, type ClientLink } from './allocation.js';
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
    if (existing.transactionId === message.transactionId.toString('hex') && existing.response) {
      return ctx.reply(link, existing.response);
    }
    fail(437);
    return;
  }
  if (ctx.table.isPending(link.key)) return; // the first Allocate is still binding; it will answer
  const transport = readRequestedTransport(message);
  if (transport === undefined) {
    fail(400, 'REQUESTED-TRANSPORT missing');
    return;
  }
  if (transport !== TRANSPORT_UDP) {
    fail(442);
    return;
  }
  const hasToken = getAttribute(message, Attr.reservationToken) !== undefined;
  const family = readRequestedFamily(message);
  const evenPort = readEvenPort(message);
  if (hasToken && (evenPort || family !== undefined)) {
    fail(400);
    return;
  }
  // We never hand out reservation tokens, so any token is unknown (§7.2 step 6: 508).
  if (hasToken) {
    fail(508, 'Unknown reservation token');
    return;
  }
  if (family !== undefined && family !== FAMILY_IPV4) {
    fail(440);
    return;
  }
  if (!ctx.deviceAllowed(requester.deviceId)) {
    fail(403, 'Device not allowed');
    return;
  }

  const quota = ctx.table.reserve(link.key, requester.deviceId);
  if (quota !== 'ok') {
    ctx.warn.warn(`quota:${requester.deviceId}`, { device: requester.deviceId, quota }, 'allocation refused');
    fail(quota === 'device-quota' ? 486 : 508);
    return;
  }
  let allocation: Allocation | undefined;
  let relay: Awaited<ReturnType<TurnContext['openRelay']>>;
  try {
    // EVEN-PORT is honoured; its R bit (reserve the next port too) is not: no token is returned.
    relay = await ctx.openRelay({ evenPort: evenPort !== undefined }, (data, ip, port) => {
      if (allocation) ctx.onPeerPacket(allocation, data, ip, port);
    });
  } catch (err) {
    ctx.table.release(link.key);
    throw err;
  }
  if (relay && !link.isOpen()) {
    relay.close(); // the TCP client left while its relay was binding
    ctx.table.release(link.key);
    return;
  }
  if (!relay) {
    ctx.table.release(link.key);
    ctx.warn.warn('relay-ports', {}, 'no relay port free');
    fail(508);
    return;
  }
  const lifetime = grantedLifetime(ctx, readUint32(message, Attr.lifetime), true);
  const now = ctx.now();
  const created = new Allocation(
    link,
    requester.username,
    requester.deviceId,
    relay,
    ctx.relayedIp,
    message.transactionId.toString('hex'),
    lifetime,
    now,
  );
  created.response = success(message, requester.key, (w) => {
    w.add(
      Attr.xorRelayedAddress,
      encodeXorAddress({ ip: ctx.relayedIp, port: relay.port }, message.transactionId),
    );
    w.add(Attr.lifetime, encodeUint32(lifetime));
    w.add(Attr.xorMappedAddress, encodeXorAddress(link, message.transactionId));
  });
  allocation = created;
  ctx.table.add(created);
  ctx.reply(link, created.response);
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
  if (!ctx.deviceAllowed(requester.deviceId)) {
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
