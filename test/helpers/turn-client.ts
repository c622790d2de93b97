import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import {
  decodeErrorCode,
  decodeXorAddress,
  encodeChannelNumber,
  encodeUint32,
  encodeXorAddress,
  TRANSPORT_UDP,
} from '../../turn/attributes.js';
import { decodeChannelData, encodeChannelData, looksLikeChannelData } from '../../turn/channel-data.js';
import { longTermKey } from '../../turn/long-term-auth.js';
import {
  Attr,
  decodeStun,
  getAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  StunWriter,
  verifyIntegrity,
} from '../../turn/stun-message.js';
import { TcpFramer } from '../../turn/tcp-framing.js';

export interface Peer {
  ip: string;
  port: number;
}

export interface TurnReply {
  /** 0 for a success response, else the ERROR-CODE. */
  code: number;
  message: StunMessage;
  /** The response carried a MESSAGE-INTEGRITY that verifies under our key. */
  integrityOk: boolean;
}

/** Request attributes, or a function of the transaction id (XOR-PEER-ADDRESS of IPv6 peers). */
export type Attributes = Array<[number, Buffer]> | ((transactionId: Buffer) => Array<[number, Buffer]>);

export interface Received {
  data: Buffer;
  channel?: number;
  peer?: Peer;
}

/**
 * A small TURN client for tests (RFC 8656 client side): long-term credentials with the
 * 401/438 dance, Allocate, Refresh, CreatePermission, ChannelBind, Send and ChannelData,
 * over UDP or TCP. Uses the server's codec; coturn's turnutils clients test it independently.
 */
export class TurnTestClient {
  readonly received: Received[] = [];
  /** Sends the kernel refused (a full socket buffer under a flood). */
  sendErrors = 0;
  realm = '';
  nonce = '';
  readonly #pending = new Map<string, (reply: StunMessage) => void>();
  readonly #framer = new TcpFramer();

  private constructor(
    readonly transport: 'udp' | 'tcp' | 'tls',
    private readonly server: Peer,
    private readonly socket: UdpSocket | Socket,
    public credentials: { username: string; password: string } | undefined,
  ) {
    socket.on('error', () => {
      this.sendErrors++;
    });
    if (transport === 'udp') (socket as UdpSocket).on('message', (packet) => this.#onPacket(packet));
    else {
      socket.on('data', (chunk: Buffer) => {
        const frames = this.#framer.push(chunk);
        if (frames !== 'error') for (const frame of frames) this.#onPacket(frame);
      });
    }
  }

  static async open(
    server: Peer,
    transport: 'udp' | 'tcp' | 'tls',
    credentials?: { username: string; password: string },
  ): Promise<TurnTestClient> {
    if (transport === 'udp') {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      return new TurnTestClient('udp', server, socket, credentials);
    }
    if (transport === 'tls') {
      // Test certificates are self-signed; this client checks the protocol, not the certificate.
      const socket = connectTls({ host: server.ip, port: server.port, rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) =>
        socket.once('secureConnect', resolve).once('error', reject),
      );
      return new TurnTestClient('tls', server, socket, credentials);
    }
    const socket = connect({ host: server.ip, port: server.port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new TurnTestClient('tcp', server, socket, credentials);
  }

  /** The client's own port (its side of the 5-tuple). */
  get localPort(): number {
    const address = this.socket.address() as { port?: number };
    return address.port ?? 0;
  }

  get key(): Buffer {
    const c = this.credentials!;
    return longTermKey(c.username, this.realm, c.password);
  }

  /** Sends a request (authenticated when credentials are set), retrying once after 401/438. */
  async request(method: number, attributes: Attributes = []): Promise<TurnReply> {
    let reply = await this.requestOnce(method, attributes);
    if ((reply.code === 401 || reply.code === 438) && this.credentials) {
      const hadNonce = this.nonce;
      this.realm = getAttribute(reply.message, Attr.realm)?.toString() ?? this.realm;
      this.nonce = getAttribute(reply.message, Attr.nonce)?.toString() ?? this.nonce;
      if (reply.code === 438 || !hadNonce) reply = await this.requestOnce(method, attributes);
    }
    return reply;
  }

  /** One request/response exchange, no retry on 401/438. */
  async requestOnce(method: number, attributes: Attributes = []): Promise<TurnReply> {
    const writer = new StunWriter(method, StunClass.request, randomBytes(12));
    const list = typeof attributes === 'function' ? attributes(writer.transactionId) : attributes;
    for (const [type, value] of list) writer.add(type, value);
    const authenticated = this.credentials !== undefined && this.nonce !== '';
    if (authenticated) {
      writer.add(Attr.username, Buffer.from(this.credentials!.username));
      writer.add(Attr.realm, Buffer.from(this.realm));
      writer.add(Attr.nonce, Buffer.from(this.nonce));
    }
    const packet = writer.encode(authenticated ? { integrityKey: this.key } : {});
    const message = await this.#exchange(writer.transactionId, packet);
    const error = getAttribute(message, Attr.errorCode);
    const code = message.cls === StunClass.error && error ? decodeErrorCode(error).code : 0;
    const integrityOk = authenticated && verifyIntegrity(message, this.key);
    return { code, message, integrityOk };
  }

  async allocate(
    extra: Array<[number, Buffer]> = [],
  ): Promise<TurnReply & { relayed?: Peer; lifetime?: number }> {
    const reply = await this.request(StunMethod.allocate, [
      [Attr.requestedTransport, Buffer.from([TRANSPORT_UDP, 0, 0, 0])],
      ...extra,
    ]);
    if (reply.code !== 0) return reply;
    const relayed = decodeXorAddress(
      getAttribute(reply.message, Attr.xorRelayedAddress)!,
      reply.message.transactionId,
    );
    const lifetime = getAttribute(reply.message, Attr.lifetime)!.readUInt32BE(0);
    return { ...reply, relayed: { ip: relayed.ip, port: relayed.port }, lifetime };
  }

  refresh(lifetime?: number): Promise<TurnReply> {
    return this.request(
      StunMethod.refresh,
      lifetime === undefined ? [] : [[Attr.lifetime, encodeUint32(lifetime)]],
    );
  }

  createPermission(...peers: Peer[]): Promise<TurnReply> {
    return this.request(StunMethod.createPermission, (id) =>
      peers.map((p) => [Attr.xorPeerAddress, encodeXorAddress(p, id)] as [number, Buffer]),
    );
  }

  channelBind(channel: number, peer: Peer): Promise<TurnReply> {
    return this.request(StunMethod.channelBind, (id) => [
      [Attr.channelNumber, encodeChannelNumber(channel)],
      [Attr.xorPeerAddress, encodeXorAddress(peer, id)],
    ]);
  }

  send(peer: Peer, data: Buffer): void {
    const writer = new StunWriter(StunMethod.send, StunClass.indication, randomBytes(12));
    writer.add(Attr.xorPeerAddress, encodeXorAddress(peer, writer.transactionId));
    writer.add(Attr.data, data);
    this.raw(writer.encode());
  }

  sendChannelData(channel: number, data: Buffer): void {
    this.raw(encodeChannelData(channel, data, this.transport !== 'udp'));
  }

  /** Sends bytes as they are (fuzzing, hand-made messages). */
  raw(packet: Buffer): void {
    if (this.transport === 'udp') (this.socket as UdpSocket).send(packet, this.server.port, this.server.ip);
    else (this.socket as Socket).write(packet);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.transport === 'udp') (this.socket as UdpSocket).close(() => resolve());
      else (this.socket as Socket).end(() => resolve());
    });
  }

  #exchange(transactionId: Buffer, packet: Buffer): Promise<StunMessage> {
    const id = transactionId.toString('hex');
    return new Promise((resolve, reject) => {
      let tries = 0;
      const attempt = () => {
        if (++tries > 5) {
          this.#pending.delete(id);
          reject(new Error('TURN request timed out'));
          return;
        }
        this.raw(packet);
        timer = setTimeout(attempt, this.transport === 'udp' ? 300 : 3000);
      };
      let timer: NodeJS.Timeout | undefined;
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(reply);
      });
      attempt();
    });
  }

  #onPacket(packet: Buffer): void {
    if (looksLikeChannelData(packet)) {
      const decoded = decodeChannelData(packet);
      if (decoded) this.received.push({ data: Buffer.from(decoded.data), channel: decoded.channel });
      return;
    }
    const message = decodeStun(packet);
    if (!message) return;
    if (message.cls === StunClass.indication && message.method === StunMethod.data) {
      const peer = decodeXorAddress(getAttribute(message, Attr.xorPeerAddress)!, message.transactionId);
      this.received.push({ data: Buffer.from(getAttribute(message, Attr.data)!), peer });
      return;
    }
    this.#pending.get(message.transactionId.toString('hex'))?.(message);
  }
}
