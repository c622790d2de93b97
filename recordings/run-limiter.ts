import { LookoutError } from '../core/errors.js';

export interface RunLimits {
  /** Tasks running at once, all keys together. */
  overall: number;
  /** Tasks running at once for one key (one API token). */
  perKey: number;
  /** Tasks waiting, all keys together; more are refused with `busyCode`. */
  queued: number;
  /** Tasks waiting for one key. */
  queuedPerKey: number;
  busyCode: string;
}

interface Waiting {
  key: string;
  start(): void;
}

/**
 * Runs async tasks with two bounds: so many at once overall, and so many per key, queuing
 * the rest in order up to a bound (beyond it a task is refused with a coded error, not
 * queued without end). One key cannot take all the slots, and a waiting task of another key
 * starts as soon as a slot frees.
 */
export class RunLimiter {
  #running = 0;
  readonly #runningPerKey = new Map<string, number>();
  readonly #waiting: Waiting[] = [];

  constructor(private readonly limits: RunLimits) {}

  /** Runs `task` when `key` and the whole have a free slot. Throws `busyCode` when the queue is full. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    if (this.#canStart(key)) return this.#start(key, task);
    const queuedForKey = this.#waiting.filter((w) => w.key === key).length;
    if (this.#waiting.length >= this.limits.queued || queuedForKey >= this.limits.queuedPerKey) {
      return Promise.reject(
        new LookoutError(this.limits.busyCode, 'too many requests are waiting; try again shortly'),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ key, start: () => this.#start(key, task).then(resolve, reject) });
    });
  }

  /** Tasks running and waiting now (for tests and metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  #canStart(key: string): boolean {
    return this.#running < this.limits.overall && (this.#runningPerKey.get(key) ?? 0) < this.limits.perKey;
  }

  async #start<T>(key: string, task: () => Promise<T>): Promise<T> {
    this.#running++;
    this.#runningPerKey.set(key, (this.#runningPerKey.get(key) ?? 0) + 1);
    try {
      return await task();
    } finally {
      this.#running--;
      const left = (this.#runningPerKey.get(key) ?? 1) - 1;
      if (left === 0) this.#runningPerKey.delete(key);
      else this.#runningPerKey.set(key, left);
      this.#next();
    }
  }

  /** Starts the first waiting tasks whose key has a free slot, in order. */
  #next(): void {
    for (let i = 0; i < this.#waiting.length && this.#running < this.limits.overall; ) {
      const waiting = this.#waiting[i]!;
      if (this.#canStart(waiting.key)) {
        this.#waiting.splice(i, 1);
        waiting.start();
      } else i++;
    }
  }
}
