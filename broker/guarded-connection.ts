import { Duplex } from 'node:stream';
import type { GuardVerdict, MqttFrameGuard } from './frame-guard.js';

/**
 * A Duplex that sits between a transport (TCP/TLS socket, WebSocket stream) and aedes,
 * passing bytes through only while the frame guard allows them. On a violation the
 * transport is destroyed at once: nothing of the offending packet is buffered.
 */
export class GuardedConnection extends Duplex {
  readonly #inner: Duplex;
  #corked = false;

  constructor(
    inner: Duplex,
    readonly guard: MqttFrameGuard,
    onViolation: (verdict: Extract<GuardVerdict, { ok: false }>) => void,
  ) {
    super({ allowHalfOpen: false });
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => {
      const verdict = guard.feed(chunk);
      if (!verdict.ok) {
        onViolation(verdict);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.once('close', () => this.destroy());
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#inner.destroyed) {
      callback();
      return;
    }
    this.#forward(chunk, callback);
  }

  /**
   * Packets written to one connection in the same turn of the event loop (a service
   * subscribed to `+/status` gets one per device connecting in a storm, often many per
   * poll) leave in one write: the transport is corked until the loop's check phase.
   * One loopback write costs ~0.1 ms of system time; the added delay is under one turn.
   */
  #forward(data: Buffer, callback: () => void): void {
    this.#coalesce();
    // Done once the transport has taken the bytes (below its high-water mark), not once they
    // left: waiting for the corked write would hold every later packet back for one more turn.
    if (this.#inner.write(data)) callback();
    else this.#inner.once('drain', callback);
  }

  #coalesce(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#inner.cork();
    setImmediate(() => {
      this.#corked = false;
      this.#inner.uncork();
    });
  }

  /**
   * mqtt-packet corks this stream and writes a packet in up to six pieces; without `_writev`
   * the uncork would hand them to the transport one at a time, each waiting for the previous
   * one's callback (one syscall, or one WebSocket frame, per piece). One write per flush
   * made a connect storm measurably cheaper (issue 9, item 19).
   */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.#inner.destroyed) {
      callback();
      return;
    }
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.#forward(data, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // What aedes wrote last (a refusing CONNACK before it closes) leaves before the socket goes.
    if (this.#corked) {
      this.#corked = false;
      this.#inner.uncork();
    }
    this.#inner.destroy();
    callback(error);
  }
}
