import net from 'node:net';
import tls from 'node:tls';
import { LookoutError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { ReloadingCertificate } from '../core/tls-reload.js';
import type { PendingGate, PendingTicket } from './pending-gate.js';

export type Transport = 'tcp' | 'tls' | 'ws';
type OnSocket = (socket: net.Socket, ticket: PendingTicket) => void;

/** The plain MQTT listener: each socket passes the pending gate first. */
export function createTcpServer(gate: PendingGate, onSocket: OnSocket): net.Server {
  return net.createServer((socket) => {
    const ticket = gate.admit(socket, socket.remoteAddress ?? 'unknown', 'tcp');
    if (ticket) onSocket(socket, ticket);
  });
}

/**
 * The `mqtts` listener (modern ciphers only, core/tls-options.ts), serving `certificate` and
 * each certificate it reloads later. Admission happens on the raw
 * socket, before the handshake costs anything; the TLS socket that follows is found again
 * by its peer address and port. A handshake that never starts or never ends is closed by
 * the gate's login deadline (and by Node's `handshakeTimeout`, 120 s by default otherwise).
 */
export function createTlsServer(
  certificate: ReloadingCertificate,
  handshakeTimeoutMs: number,
  gate: PendingGate,
  onSocket: OnSocket,
  log: Logger,
): tls.Server {
  const secure = tls.createServer({
    ...certificate.secureContextOptions(),
    handshakeTimeout: handshakeTimeoutMs,
  });
  certificate.attach(secure);
  const tickets = new Map<string, PendingTicket>();
  secure.on('connection', (raw: net.Socket) => {
    const ticket = gate.admit(raw, raw.remoteAddress ?? 'unknown', 'tls');
    if (!ticket) return;
    const peer = `${raw.remoteAddress}|${raw.remotePort}`;
    tickets.set(peer, ticket);
    raw.once('close', () => tickets.delete(peer));
  });
  secure.on('secureConnection', (socket) => {
    const peer = `${socket.remoteAddress}|${socket.remotePort}`;
    const ticket = tickets.get(peer);
    tickets.delete(peer);
    if (ticket) onSocket(socket, ticket);
    else socket.destroy();
  });
  secure.on('tlsClientError', (err, socket) => {
    log.debug({ err: err.message, address: socket.remoteAddress }, 'TLS handshake failed');
    socket.destroy();
  });
  return secure;
}

/** Binds `server`; a bind failure rejects with LISTEN_FAILED, later errors are logged. */
export function listen(
  server: net.Server,
  transport: Transport,
  port: number,
  host: string,
  log: Logger,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new LookoutError(
          'LISTEN_FAILED',
          `MQTT ${transport} listener cannot bind ${host}:${port}: ${err.code ?? err.message}`,
          { host, port },
        ),
      );
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log.error({ err, transport }, 'listener error'));
      log.info({ transport, address: server.address() }, 'MQTT listener ready');
      resolve();
    });
  });
}
