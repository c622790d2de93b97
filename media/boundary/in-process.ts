import type { Logger } from '../../core/log.js';
import { MediaEngine } from '../engine.js';
import { MediaChannel } from './channel.js';
import type { CommandName, FromWorker, WorkerInit } from './protocol.js';
import { errorForWire } from './wire.js';

/**
 * `media.workers: 0`: the engine runs in the server's process (for debugging with one
 * inspector, or a machine where a second process is not wanted). Everything still crosses as
 * JSON text, in order, one turn later, exactly as over a process channel: code that works
 * here cannot depend on sharing objects with the engine.
 */
export class InProcessChannel extends MediaChannel {
  readonly #engine: MediaEngine;

  constructor(init: WorkerInit, log: Logger) {
    super(init.workerId, log);
    const workerLog = log.child({ worker: init.workerId });
    this.#engine = new MediaEngine(
      init.engine,
      (event) => this.#deliver({ type: 'event', ...event } as FromWorker),
      workerLog,
    );
  }

  get pid(): number {
    return process.pid;
  }

  protected send(message: { type: 'request'; id: number; command: CommandName; args: unknown }): void {
    const args = JSON.parse(JSON.stringify(message.args)) as never;
    queueMicrotask(() => {
      this.#engine.handle(message.command, args).then(
        (result) => this.#deliver({ type: 'response', id: message.id, ok: true, result: result ?? null }),
        (err: unknown) =>
          this.#deliver({ type: 'response', id: message.id, ok: false, error: errorForWire(err) }),
      );
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await this.#engine.close();
    this.exitedWith({ code: 0, signal: null, requested: true });
  }

  kill(): void {
    this.#engine.close().catch(() => {});
    this.exitedWith({ code: null, signal: 'SIGKILL', requested: false });
  }

  #deliver(message: FromWorker): void {
    const copy = JSON.parse(JSON.stringify(message)) as FromWorker;
    queueMicrotask(() => {
      if (!this.exited) this.receive(copy);
    });
  }
}
