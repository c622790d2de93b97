import { EventEmitter } from 'node:events';
import type { Logger } from './log.js';

type EventMap<T> = Record<keyof T, unknown[]>;

/**
 * An EventEmitter whose listeners cannot hurt the emitter: a listener that throws (or returns
 * a promise that rejects) is logged with the event's name, and the other listeners and the
 * code that emitted run on. Used where events cross a component boundary (the media plane's
 * events reach the recorder, the TURN filter and the HTTP API), so one consumer's bug never
 * stops the process or starves the others.
 */
export class SafeEmitter<T extends EventMap<T>> extends EventEmitter<T> {
  readonly #log: Logger;

  constructor(log: Logger) {
    super();
    this.#log = log;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the same loose signature EventEmitter's typings resolve to
  override emit(event: any, ...args: any[]): boolean {
    const listeners = this.rawListeners(event) as unknown as Array<(...a: unknown[]) => unknown>;
    for (const listener of listeners) {
      try {
        // rawListeners keeps once() wrappers, which remove themselves when called.
        const result = listener.apply(this, args);
        if (result && typeof (result as Promise<unknown>).catch === 'function')
          (result as Promise<unknown>).catch((err: unknown) => this.#failed(event, err));
      } catch (err) {
        this.#failed(event, err);
      }
    }
    return listeners.length > 0;
  }

  #failed(event: unknown, err: unknown): void {
    this.#log.error({ err, event: String(event) }, 'an event listener failed (ignored)');
  }
}
