import type { Server } from 'node:http';
import type { Socket } from 'node:net';
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
  const perAddress = new Map<string, number>();
  let open = 0;
  const refusals = new RateLimitedLog(log, () => performance.now());
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const fromAddress = perAddress.get(address) ?? 0;
    if (fromAddress >= limits.maxConnectionsPerAddress || open >= limits.maxConnections) {
      const perAddressHit = fromAddress >= limits.maxConnectionsPerAddress;
      refusals.warn(
        `http-cap:${perAddressHit ? address : '*'}`,
        perAddressHit
          ? { address, limit: limits.maxConnectionsPerAddress }
          : { address, open, limit: limits.maxConnections },
        perAddressHit
          ? 'HTTP connection refused: too many open from this address'
          : 'HTTP connection refused: too many open in all',
      );
      socket.destroy();
      return;
    }
    open++;
    perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });
}
