import type { RTCPeerConnection } from 'werift';

/**
 * What the media node asks of the kernel for each UDP socket that receives a camera's media.
 * werift 0.24 never raises receive buffers, and Linux's default (`net.core.rmem_default`,
 * 208 KiB) holds well under a second of a 2 Mbps camera: a loaded machine whose event loop
 * stalls that long drops packets in the kernel, and the picture and the recording break up.
 * Linux caps the request at `net.core.rmem_max` (and reports twice what it grants), so on a
 * default system this doubles the buffer; raise `rmem_max` for more (docs/recording.md).
 */
export const CAMERA_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

interface SocketLike {
  setRecvBufferSize(size: number): void;
  getRecvBufferSize(): number;
}

/** werift's internals on the way to its UDP sockets (0.24: connection.protocols[].transport.socket). */
interface WeriftIceInternals {
  connection?: { protocols?: Array<{ transport?: { socket?: Partial<SocketLike> } }> };
}

/**
 * Raises the receive buffer of every UDP socket the peer's ICE agents bound. Never throws:
 * a socket that is closing or a kernel that refuses keeps its buffer. Returns the sizes
 * the kernel reports afterwards (for logs and tests).
 */
export function raiseReceiveBuffers(pc: RTCPeerConnection, bytes = CAMERA_RECEIVE_BUFFER_BYTES): number[] {
  const sizes: number[] = [];
  for (const transport of pc.iceTransports as unknown as WeriftIceInternals[]) {
    for (const protocol of transport.connection?.protocols ?? []) {
      const socket = protocol.transport?.socket;
      if (typeof socket?.setRecvBufferSize !== 'function' || typeof socket.getRecvBufferSize !== 'function')
        continue;
      try {
        socket.setRecvBufferSize(bytes);
        sizes.push(socket.getRecvBufferSize());
      } catch {
        // Closed meanwhile (ERR_SOCKET_DGRAM_NOT_RUNNING) or refused: the default stays.
      }
    }
  }
  return sizes;
}
