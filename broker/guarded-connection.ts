import { Duplex } from 'node:stream';
import type { GuardVerdict, MqttFrameGuard } from './frame-guard.js';

/**
 * A Duplex that sits between a transport (TCP/TLS socket, WebSocket stream) and aedes,
 * passing bytes through only while the frame guard allows them. On a violation the
 * transport is destroyed at once: nothing of the offending packet is buffered.
 */
export class GuardedConnection extends Duplex {
  readonly #inner: Duplex;

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
    this.#inner.write(chunk, callback);
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
    this.#inner.write(data, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner.destroy();
    callback(error);
  }
}
