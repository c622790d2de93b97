import type { Logger } from '../core/log.js';
import { SafeEmitter } from '../core/safe-emitter.js';
import type { MediaChannel } from './boundary/channel.js';
import { InProcessChannel } from './boundary/in-process.js';
import { ProcessChannel } from './boundary/process.js';
import type { WorkerInit } from './boundary/protocol.js';
import type { EngineOptions } from './engine.js';
import { portSlices } from './port-slices.js';

export interface PoolOptions {
  /** Worker processes; 0 runs one engine in this process. */
  workers: number;
  engine: EngineOptions;
  logLevel: string;
  /** Test hook: how a worker is made (default: a child process, or in-process for 0). */
  spawn?: (init: WorkerInit, log: Logger) => MediaChannel;
}

export type PoolEvents = {
  /** A worker (first start or replacement) is ready for cameras. */
  ready: [channel: MediaChannel];
  /** A worker is gone; it is being replaced. */
  died: [channel: MediaChannel, info: { code: number | null; signal: string | null }];
};

/** A dead worker is replaced after this (then doubling to RESPAWN_MAX_MS while it keeps dying at start). */
const RESPAWN_FIRST_MS = 100;
const RESPAWN_MAX_MS = 10_000;

/**
 * The media workers: starts `workers` of them (each with its own slice of the ICE port range,
 * since Node 20's UDP has no reusePort), replaces one that dies, and stops them all on close.
 */
export class WorkerPool extends SafeEmitter<PoolEvents> {
  readonly #slots: Array<MediaChannel | undefined>;
  readonly #ready = new Set<MediaChannel>();
  readonly #log: Logger;
  readonly #failures: number[];
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing = false;

  private constructor(
    private readonly options: PoolOptions,
    log: Logger,
  ) {
    super(log);
    this.#log = log;
    const count = Math.max(1, options.workers);
    this.#slots = new Array(count).fill(undefined);
    this.#failures = new Array(count).fill(0);
  }

  /** Starts every worker; resolves when all are ready (rejects, with all stopped, if one cannot start). */
  static async start(options: PoolOptions, log: Logger): Promise<WorkerPool> {
    const pool = new WorkerPool(options, log);
    try {
      await Promise.all(pool.#slots.map((_, slot) => pool.#spawn(slot)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** Workers ready for cameras now. */
  get ready(): ReadonlySet<MediaChannel> {
    return this.#ready;
  }

  get size(): number {
    return this.#slots.length;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#slots.map((c) => c?.close()));
    this.#ready.clear();
  }

  async #spawn(slot: number): Promise<void> {
    const init: WorkerInit = {
      workerId: slot,
      logLevel: this.options.logLevel,
      engine: this.#engineFor(slot),
    };
    const channel = this.options.spawn
      ? this.options.spawn(init, this.#log)
      : this.options.workers === 0
        ? new InProcessChannel(init, this.#log)
        : new ProcessChannel(init, this.#log);
    this.#slots[slot] = channel;
    channel.once('exit', (info) => {
      this.#ready.delete(channel);
      if (this.#closing || info.requested) return;
      this.#log.error(
        { worker: slot, pid: channel.pid, code: info.code, signal: info.signal },
        'media worker died: replacing it',
      );
      this.emit('died', channel, info);
      this.#respawnLater(slot);
    });
    if (channel instanceof ProcessChannel) await channel.ready;
    if (channel.exited || this.#closing) return;
    this.#failures[slot] = 0;
    this.#ready.add(channel);
    this.#log.debug({ worker: slot, pid: channel.pid }, 'media worker ready');
    this.emit('ready', channel);
  }

  #respawnLater(slot: number): void {
    const failures = this.#failures[slot]!++;
    const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_FIRST_MS * 2 ** failures);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closing) return;
      this.#spawn(slot).catch((err) =>
        this.#log.error({ err, worker: slot }, 'media worker could not start'),
      );
    }, delay);
    this.#timers.add(timer);
  }

  #engineFor(slot: number): EngineOptions {
    const engine = this.options.engine;
    const range = engine.peerOptions.portRange;
    if (!range) return engine;
    const slice = portSlices(range, this.#slots.length)[slot]!;
    return { ...engine, peerOptions: { ...engine.peerOptions, portRange: slice } };
  }
}
