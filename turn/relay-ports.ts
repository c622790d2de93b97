import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../core/log.js';
import type { RelaySocket } from './allocation.js';
import { literalIpLookup } from './literal-ip-lookup.js';

/** Relay socket buffers: room for a keyframe burst (kernel-capped at net.core.[rw]mem_max). */
const RELAY_BUFFER_BYTES = 1 << 20;
/** Most ports tried for one allocation before answering 508. */
const MAX_ATTEMPTS = 64;

/**
 * Opens relay sockets: UDP over IPv4 on `bindAddress`, in `[min, max]` when a range is set
 * (else any port the kernel picks). Tracks the ports it holds so it never reuses one that is
 * still open; a closed relay socket releases its port at once.
 */
export class RelayPortPool {
  readonly #inUse = new Map<number, () => void>();
  #next: number;
  #shutDown = false;

  constructor(
    private readonly options: { bindAddress: string; min?: number | undefined; max?: number | undefined },
    private readonly log: Logger,
  ) {
    const { min, max } = options;
    this.#next =
      min !== undefined && max !== undefined ? min + Math.floor(Math.random() * (max - min + 1)) : 0;
  }

  /**
   * Binds a relay socket (on an even port when asked; with `reserveNext`, also the next port,
   * for RTCP: RFC 8656 §7.2); undefined when no port could be bound (508 Insufficient Capacity).
   */
  async open(request: {
    evenPort: boolean;
    reserveNext: boolean;
  }): Promise<{ relay: RelaySocket; reserved?: RelaySocket } | undefined> {
    const even = request.evenPort || request.reserveNext;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (this.#shutDown) return undefined;
      const port = this.#candidate(even, request.reserveNext);
      if (port === undefined) return undefined;
      const socket = await bindUdp(this.options.bindAddress, port);
      if (!socket) continue;
      const bound = socket.address().port;
      if (this.#shutDown || (even && bound % 2 !== 0) || this.#inUse.has(bound)) {
        socket.close();
        continue;
      }
      if (!request.reserveNext) return { relay: this.#wrap(socket, bound) };
      const next = this.#inUse.has(bound + 1)
        ? undefined
        : await bindUdp(this.options.bindAddress, bound + 1);
      if (!next || this.#shutDown) {
        socket.close();
        next?.close();
        continue;
      }
      return { relay: this.#wrap(socket, bound), reserved: this.#wrap(next, bound + 1) };
    }
    return undefined;
  }

  /** Closes every relay socket still open and refuses new ones (server shutdown). */
  shutdown(): void {
    this.#shutDown = true;
    for (const close of [...this.#inUse.values()]) close();
  }

  get openCount(): number {
    return this.#inUse.size;
  }

  #candidate(even: boolean, pair: boolean): number | undefined {
    const { min, max } = this.options;
    if (min === undefined || max === undefined) return 0;
    const size = max - min + 1;
    for (let i = 0; i < size; i++) {
      const port = min + ((this.#next - min + i) % size);
      if (this.#inUse.has(port) || (even && port % 2 !== 0)) continue;
      if (pair && (port + 1 > max || this.#inUse.has(port + 1))) continue;
      this.#next = port + 1 > max ? min : port + 1;
      return port;
    }
    return undefined;
  }

  #wrap(socket: Socket, port: number): RelaySocket {
    let open = true;
    let receiver: ((data: Buffer, ip: string, port: number) => void) | undefined;
    const close = () => {
      if (!open) return;
      open = false;
      this.#inUse.delete(port);
      socket.close();
    };
    this.#inUse.set(port, close);
    socket.on('message', (data, rinfo) => receiver?.(data, rinfo.address, rinfo.port));
    socket.on('error', (err) => this.log.debug({ err, port }, 'relay socket error'));
    return {
      port,
      send: (data, ip, peerPort) => {
        if (open) socket.send(data, peerPort, ip);
      },
      receive: (handler) => {
        receiver = handler;
      },
      close,
    };
  }
}

function bindUdp(address: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket({
      type: 'udp4',
      recvBufferSize: RELAY_BUFFER_BYTES,
      sendBufferSize: RELAY_BUFFER_BYTES,
      lookup: literalIpLookup,
    });
    const onError = () => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to release
      }
      resolve(undefined);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
