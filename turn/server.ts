import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { type AddressInfo, createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer, TLSSocket, type Server as TlsServer } from 'node:tls';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { Allocation, ClientLink } from './allocation.js';
import { literalIpLookup } from './literal-ip-lookup.js';
import { TcpAdmission } from './tcp-admission.js';
import { TcpFramer } from './tcp-framing.js';
import type { TurnCore } from './turn-core.js';

/** Largest amount of unsent data queued on one TCP client before packets are dropped. */
const MAX_TCP_BACKLOG = 1 << 20;
/** A TCP connection that holds no allocation is closed after this much silence. */
const TCP_IDLE_MS = 60_000;

export interface TcpConnectionLimits {
  /** Connections without an allocation per source IP (`TurnLimits.tcpConnectionsPerIp`). */
  perIp: number;
  /** Time a new connection has to make an allocation, ms. */
  allocationDeadlineMs: number;
}
/**
 * Socket buffers of the shared UDP listener: a video keyframe is a burst of packets, and the
 * default ~200 KB holds fewer than 100 of them; the kernel caps this at net.core.rmem_max.
 */
const LISTENER_BUFFER_BYTES = 4 << 20;

/**
 * The sockets of the TURN server: one UDP socket and one TCP listener on the same port
 * (RFC 8656 §5: STUN and ChannelData over either), feeding a TurnCore.
 */
export class TurnListeners {
  readonly #connections = new Set<Socket>();
  readonly #admission: TcpAdmission;
  readonly #warn: RateLimitedLog;
  #nextConnection = 0;

  /** The TLS listener (`turns:`), when a certificate was given. */
  tls: TlsServer | undefined;

  private constructor(
    readonly udp: UdpSocket,
    readonly tcp: Server,
    private readonly core: TurnCore,
    private readonly log: Logger,
    /** The link of the allocation held by a 5-tuple, if any. */
    private readonly allocatedLink: (linkKey: string) => ClientLink | undefined,
    /** The allocation of a UDP client, if any (the hot path: no key string per packet). */
    udpAllocation: (ip: string, port: number) => Allocation | undefined,
    private readonly tcpLimits: TcpConnectionLimits,
  ) {
    this.#warn = new RateLimitedLog(log, Date.now);
    this.#admission = new TcpAdmission(tcpLimits.perIp, (key) => allocatedLink(key) !== undefined);
    udp.on('message', (packet, rinfo) => {
      const ip = unmapIp(rinfo.address);
      const port = rinfo.port;
      const allocation = udpAllocation(ip, port);
      if (allocation) {
        core.handleClientPacket(allocation.client, packet, allocation);
        return;
      }
      const send = (data: Buffer) => this.#sendUdp(data, rinfo.address, port);
      const link = {
        key: `udp:${ip}:${port}`,
        transport: 'udp',
        ip,
        port,
        send,
        isOpen: () => true,
      } as const;
      core.handleClientPacket(link, packet);
    });
    // After the bind, errors are failed sends (a flood of them must not flood the log).
    udp.on('error', (err) => this.#warn.warn('udp-error', { err }, 'TURN UDP socket error'));
    tcp.on('connection', (socket) => this.#accept(socket));
    tcp.on('error', (err) => log.warn({ err }, 'TURN TCP listener error'));
  }

  /** Binds UDP then TCP on the same port; with port 0, retries until both get one port. */
  static async listen(
    options: { host: string; port: number; maxTcpConnections: number; tcp: TcpConnectionLimits },
    core: TurnCore,
    log: Logger,
    allocatedLink: (linkKey: string) => ClientLink | undefined,
    udpAllocation: (ip: string, port: number) => Allocation | undefined,
  ): Promise<TurnListeners> {
    const type = isIPv6(options.host) ? 'udp6' : 'udp4';
    // The UDP socket's lookup takes IP literals only (literalIpLookup): resolve a host name once.
    let udpHost = options.host;
    if (!isIP(udpHost)) {
      try {
        udpHost = (await lookup(udpHost, { family: type === 'udp6' ? 6 : 4 })).address;
      } catch (cause) {
        throw bindFailed('UDP', options, cause as Error);
      }
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = createSocket({
        type,
        recvBufferSize: LISTENER_BUFFER_BYTES,
        sendBufferSize: LISTENER_BUFFER_BYTES,
        lookup: literalIpLookup,
      });
      const udpError = await bindUdp(udp, udpHost, options.port);
      if (udpError) {
        closeQuietly(udp);
        throw bindFailed('UDP', options, udpError);
      }
      const port = (udp.address() as AddressInfo).port;
      const tcp = createServer();
      tcp.maxConnections = options.maxTcpConnections; // beyond it, new connections are refused
      const tcpError = await listenTcp(tcp, options.host, port);
      if (!tcpError) return new TurnListeners(udp, tcp, core, log, allocatedLink, udpAllocation, options.tcp);
      closeQuietly(udp);
      if (options.port !== 0 || tcpError.code !== 'EADDRINUSE') throw bindFailed('TCP', options, tcpError);
    }
    throw new LookoutError('TURN_BIND_FAILED', 'could not bind UDP and TCP on one free port', {
      host: options.host,
    });
  }

  /**
   * Opens the TLS listener: the same STUN/ChannelData stream as TCP, inside TLS (RFC 8656 §3.1,
   * `turns:`), on its own port (port 0 works).
   */
  async listenTls(options: {
    host: string;
    port: number;
    cert: string | Buffer;
    key: string | Buffer;
  }): Promise<void> {
    let server: TlsServer;
    try {
      server = createTlsServer({ cert: options.cert, key: options.key, handshakeTimeout: 10_000 });
    } catch (cause) {
      throw new LookoutError(
        'TURN_BAD_CONFIG',
        `TURN TLS certificate or key unusable: ${String(cause)}`,
        {},
        { cause },
      );
    }
    server.maxConnections = this.tcp.maxConnections;
    server.on('secureConnection', (socket) => this.#accept(socket));
    server.on('tlsClientError', (err) => this.log.debug({ err }, 'TURN TLS handshake failed'));
    server.on('error', (err) => this.log.warn({ err }, 'TURN TLS listener error'));
    const error = await listenTcp(server, options.host, options.port);
    if (error) throw bindFailed('TLS', options, error);
    this.tls = server;
  }

  address(): { udp: AddressInfo; tcp: AddressInfo; tls?: AddressInfo } {
    const udp = this.udp.address() as AddressInfo;
    const tcp = this.tcp.address() as AddressInfo;
    return this.tls ? { udp, tcp, tls: this.tls.address() as AddressInfo } : { udp, tcp };
  }

  get tcpConnections(): number {
    return this.#connections.size;
  }

  async close(): Promise<void> {
    for (const socket of this.#connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => (this.tls ? this.tls.close(() => resolve()) : resolve())),
    ]);
  }

  #sendUdp(data: Buffer, ip: string, port: number): void {
    try {
      this.udp.send(data, port, ip);
    } catch (err) {
      this.log.debug({ err }, 'TURN UDP send failed'); // socket closing
    }
  }

  #accept(socket: Socket): void {
    const key = `tcp:${++this.#nextConnection}`; // TLS connections are TCP links too
    const ip = unmapIp(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    if (!this.#admission.admit(ip, key)) {
      this.#warn.warn(
        `tcp-per-ip:${ip}`,
        { client: ip },
        'TURN TCP connection refused: too many without allocation',
      );
      socket.destroy();
      return;
    }
    const framer = new TcpFramer();
    const link: ClientLink = {
      key,
      transport: 'tcp',
      ip,
      port,
      send: (data) => {
        // Media tolerates loss better than delay: drop rather than queue without bound.
        if (!socket.destroyed && socket.writableLength < MAX_TCP_BACKLOG) socket.write(data);
      },
      isOpen: () => !socket.destroyed,
    };
    this.#connections.add(socket);
    socket.setNoDelay(true);
    if (socket instanceof TLSSocket) {
      // One STUN/ChannelData message per TLS record: without a _writev, Node's stream writes
      // queued chunks one by one instead of sealing them into one record. TLS is a stream and
      // clients must frame it, but some take one message per SSL_read (coturn's
      // turnutils_uclient lost up to 40% of a run under load).
      socket._writev = undefined;
    }
    socket.setTimeout(TCP_IDLE_MS, () => {
      if (!this.allocatedLink(key)) socket.destroy();
    });
    // A fixed deadline, not an idle timer: Bindings would keep a connection that never
    // allocates alive for ever.
    const deadline = setTimeout(() => {
      if (!this.allocatedLink(key)) socket.destroy();
    }, this.tcpLimits.allocationDeadlineMs);
    deadline.unref();
    socket.on('data', (chunk) => {
      const frames = framer.push(chunk);
      if (frames === 'error') {
        this.log.debug({ client: ip }, 'TURN TCP stream is not STUN/ChannelData; closing');
        socket.destroy();
        return;
      }
      for (const frame of frames) this.core.handleClientPacket(link, frame);
    });
    socket.on('error', (err) => this.log.debug({ err, client: ip }, 'TURN TCP connection error'));
    socket.on('close', () => {
      clearTimeout(deadline);
      this.#admission.remove(ip, key);
      this.#connections.delete(socket);
      this.core.clientClosed(key);
    });
  }
}

function closeQuietly(socket: UdpSocket): void {
  try {
    socket.close();
  } catch {
    // not bound: nothing to release
  }
}

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 client) as `1.2.3.4`. */
function unmapIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function bindUdp(
  socket: UdpSocket,
  address: string,
  port: number,
): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    socket.once('error', resolve);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', resolve);
      resolve(undefined);
    });
  });
}

function listenTcp(server: Server, host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    server.once('error', resolve);
    server.listen({ host, port }, () => {
      server.off('error', resolve);
      resolve(undefined);
    });
  });
}

function bindFailed(what: string, options: { host: string; port: number }, cause: Error): LookoutError {
  const { host, port } = options;
  return new LookoutError(
    'TURN_BIND_FAILED',
    `TURN ${what} cannot listen on ${host}:${port}: ${cause.message}`,
    { host, port },
    { cause },
  );
}

/** The first non-internal IPv4 address of the host, for hosts that bind relays to 0.0.0.0. */
export function firstLanIpv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
