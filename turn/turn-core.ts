import { randomBytes } from 'node:crypto';
import { handleAllocate, handleRefresh } from './allocate.js';
import type { Allocation, ClientLink } from './allocation.js';
import { encodeMappedAddress, encodeXorAddress, StunAttributeError } from './attributes.js';
import { decodeChannelData, encodeChannelData, looksLikeChannelData } from './channel-data.js';
import type { TurnContext } from './context.js';
import { authenticate } from './long-term-auth.js';
import { handleChannelBind, handleCreatePermission, handleSend, peerAllowed } from './permissions.js';
import { failure, REASONS, success } from './responses.js';
import { Attr, decodeStun, StunClass, type StunMessage, StunMethod, StunWriter } from './stun-message.js';

/** Authenticated requester: the REST username, its device (and secret generation) and the long-term key. */
export interface Requester {
  username: string;
  deviceId: string;
  /** The device secret generation the credential was issued under; undefined when it names none. */
  generation: number | undefined;
  key: Buffer;
}

/** Comprehension-required attributes (type < 0x8000) the server understands (RFC 8489 §7.3.1). */
const KNOWN_ATTRIBUTES = new Set<number>([
  Attr.mappedAddress,
  Attr.username,
  Attr.messageIntegrity,
  Attr.errorCode,
  Attr.unknownAttributes,
  Attr.channelNumber,
  Attr.lifetime,
  Attr.xorPeerAddress,
  Attr.data,
  Attr.realm,
  Attr.nonce,
  Attr.xorRelayedAddress,
  Attr.requestedAddressFamily,
  Attr.evenPort,
  Attr.requestedTransport,
  Attr.xorMappedAddress,
  Attr.reservationToken,
]);

/**
 * The TURN server without sockets: it is fed client packets (`handleClientPacket`) and peer
 * packets (`handlePeerPacket`) and answers through the context's `reply`/relay sockets.
 * Nothing thrown by a handler escapes: malformed input is counted, warned about (rate
 * limited) and dropped, or answered with 400 when it is a readable request.
 */
export class TurnCore {
  constructor(private readonly ctx: TurnContext) {}

  /**
   * A packet from a client. `allocation` is the allocation of `link`'s 5-tuple when the
   * caller already looked it up (the UDP listener does, once per packet); else it is looked up.
   */
  handleClientPacket(link: ClientLink, packet: Buffer, allocation?: Allocation): void {
    try {
      if (looksLikeChannelData(packet)) {
        this.#clientChannelData(allocation ?? this.ctx.table.get(link.key), packet);
        return;
      }
      const message = decodeStun(packet);
      if (!message) {
        this.#malformed(link, 'not a STUN message');
        return;
      }
      if (message.cls === StunClass.indication) {
        if (message.method === StunMethod.send) handleSend(this.ctx, link, message);
        return; // other indications are ignored
      }
      if (message.cls !== StunClass.request) return; // responses are ignored
      void this.#request(link, message).catch((err: unknown) => this.#malformed(link, String(err)));
    } catch (err) {
      this.#malformed(link, String(err));
    }
  }

  /** A packet from a peer reached `allocation`'s relay socket (RFC 8656 §11.3, §12.6). */
  handlePeerPacket(allocation: Allocation, data: Buffer, ip: string, port: number): void {
    const now = this.ctx.now();
    const binding = allocation.bindingFor(ip, port, now);
    if (
      !allocation.hasPermission(ip, now) ||
      !peerAllowed(this.ctx, allocation, ip, port, now, binding?.verdict)
    )
      return;
    this.ctx.counters.packetsFromPeers++;
    this.ctx.counters.bytesFromPeers += data.length;
    if (binding !== undefined) {
      allocation.client.send(encodeChannelData(binding.channel, data, allocation.client.transport === 'tcp'));
      return;
    }
    const indication = new StunWriter(StunMethod.data, StunClass.indication, randomBytes(12));
    indication.add(Attr.xorPeerAddress, encodeXorAddress({ ip, port }, indication.transactionId));
    indication.add(Attr.data, data);
    allocation.client.send(indication.encode({ fingerprint: false }));
  }

  /** The client's TCP connection closed: its allocation goes with it (RFC 8656 §3.1). */
  clientClosed(linkKey: string): void {
    const allocation = this.ctx.table.get(linkKey);
    if (allocation) this.ctx.table.remove(allocation, 'client-closed');
  }

  async #request(link: ClientLink, message: StunMessage): Promise<void> {
    let requester: Requester | undefined;
    try {
      if (message.method === StunMethod.binding) {
        this.#binding(link, message);
        return;
      }
      const handler = HANDLERS[message.method];
      if (!handler) {
        this.ctx.reply(link, failure(message, 400, 'Unknown method'));
        return;
      }
      requester = this.#authenticate(link, message);
      if (!requester) return;
      const unknown = unknownAttributes(message);
      if (unknown.length) {
        this.ctx.reply(link, failure(message, 420, REASONS[420]!, { key: requester.key, unknown }));
        return;
      }
      await handler(this.ctx, link, message, requester);
    } catch (err) {
      if (!(err instanceof StunAttributeError)) throw err;
      // Signed when the request was authenticated (RFC 8489 §9.2.4).
      this.ctx.reply(link, failure(message, 400, err.message, requester ? { key: requester.key } : {}));
    }
  }

  /** RFC 8489 §6.3.1: Binding needs no credentials; it answers with the client's address. */
  #binding(link: ClientLink, message: StunMessage): void {
    const unknown = unknownAttributes(message);
    if (unknown.length) {
      this.ctx.reply(link, failure(message, 420, REASONS[420]!, { unknown }));
      return;
    }
    this.ctx.reply(
      link,
      success(message, undefined, (w) => {
        w.add(Attr.xorMappedAddress, encodeXorAddress(link, message.transactionId));
        w.add(Attr.mappedAddress, encodeMappedAddress(link));
      }),
    );
  }

  #authenticate(link: ClientLink, message: StunMessage): Requester | undefined {
    const result = authenticate(message, link.ip, this.ctx);
    if (result.ok) return result;
    if (result.code === 401 && message.attributes.some((a) => a.type === Attr.messageIntegrity)) {
      // Credentials were given and are wrong or expired (the first, bare 401 is routine).
      const username = message.attributes.find((a) => a.type === Attr.username)?.value.toString('utf8');
      this.ctx.warn.warn(`auth:${link.ip}`, { client: link.ip, username }, 'TURN credentials refused');
    }
    const challenge = result.challenge
      ? { realm: this.ctx.realm, nonce: this.ctx.nonces.issue(link.ip) }
      : undefined;
    this.ctx.reply(link, failure(message, result.code, result.reason, challenge ? { challenge } : {}));
    return undefined;
  }

  /** ChannelData from the client goes to the channel's peer (RFC 8656 §12.5). */
  #clientChannelData(allocation: Allocation | undefined, packet: Buffer): void {
    const decoded = decodeChannelData(packet);
    if (!allocation || !decoded) return;
    const now = this.ctx.now();
    const peer = allocation.channelPeer(decoded.channel, now);
    // The filter's verdict, cached on the binding, as for Send and for packets from peers:
    // ChannelBind checked it once, but what the allowPeer hook allows can change within a binding.
    if (
      !peer ||
      !allocation.hasPermission(peer.ip, now) ||
      !peerAllowed(this.ctx, allocation, peer.ip, peer.port, now, peer.verdict)
    )
      return;
    this.ctx.counters.packetsToPeers++;
    this.ctx.counters.bytesToPeers += decoded.data.length;
    allocation.relay.send(decoded.data, peer.ip, peer.port);
  }

  #malformed(link: ClientLink, reason: string): void {
    this.ctx.counters.malformed++;
    this.ctx.warn.warn(`malformed:${link.ip}`, { client: link.ip, reason }, 'malformed TURN packet dropped');
  }
}

type Handler = (ctx: TurnContext, link: ClientLink, message: StunMessage, requester: Requester) => unknown;

const HANDLERS: Record<number, Handler> = {
  [StunMethod.allocate]: handleAllocate,
  [StunMethod.refresh]: handleRefresh,
  [StunMethod.createPermission]: handleCreatePermission,
  [StunMethod.channelBind]: handleChannelBind,
};

function unknownAttributes(message: StunMessage): number[] {
  return message.attributes.map((a) => a.type).filter((t) => t < 0x8000 && !KNOWN_ATTRIBUTES.has(t));
}
