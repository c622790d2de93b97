import type { Socket } from 'node:dgram';

/**
 * Node 20's UDP handle under a dgram.Socket (`UDPWrap`): libuv's uv_udp_recv_start/stop and the
 * socket's descriptor. Node has no public API for these; the held sockets' batched reads
 * (held-socket.ts) and the native SRTP sender (viewer-rtp-sender.ts) use them, and both fall
 * back to Node's own path when the handle is not found (another Node version).
 */
export interface UdpHandle {
  recvStart(): number;
  recvStop(): number;
  /** The descriptor, or a negative errno (-9, EBADF) once the handle is closed. */
  readonly fd: number;
}

/** The libuv handle under a dgram socket, or undefined once it is closed (Node sets it to null). */
export function udpHandle(socket: Socket): UdpHandle | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state && (socket as unknown as Record<symbol, { handle?: UdpHandle | null }>)[state]?.handle;
  return handle && typeof handle.recvStart === 'function' && typeof handle.recvStop === 'function'
    ? handle
    : undefined;
}
