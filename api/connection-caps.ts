import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { AddressCaps } from '../core/address-caps.js';
import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';

export interface HttpConnectionLimits {
  /** Open TCP connections to the HTTP port from one address (API, web app, WHEP, MQTT over WebSocket). */
  maxConnectionsPerAddress: number;
  /** Open TCP connections to the HTTP port in all. */
  maxConnections: number;
}

/**
 * Caps the TCP connections a stranger can hold open on the HTTP port, per address and in
 * all, so idle sockets cannot use up the process's file descriptors (which takes down every
 * listener, MQTT's too). A connection over a cap is closed at once, before Node's HTTP parser
 * sees it; one log line per address and window says so. WebSocket connections stay counted
 * after their upgrade (the broker bounds their logins on top).
 */
export function capConnections(server: Server, limits: HttpConnectionLimits, log: Logger): void {
  const open = new AddressCaps({ perAddress: limits.maxConnectionsPerAddress, total: limits.maxConnections });
  const refusals = new RateLimitedLog(log, () => performance.now());
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const admission = open.admit(address);
    if (!admission.ok) {
      const perAddress = admission.limit === 'address';
      refusals.warn(
        `http-cap:${perAddress ? address : '*'}`,
        perAddress
          ? { address, limit: limits.maxConnectionsPerAddress }
          : { address, open: open.total, limit: limits.maxConnections },
        perAddress
          ? 'HTTP connection refused: too many open from this address'
          : 'HTTP connection refused: too many open in all',
      );
      socket.destroy();
      return;
    }
    socket.once('close', () => open.release(address));
  });
}
