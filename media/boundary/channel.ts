import { LookoutError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { SafeEmitter } from '../../core/safe-emitter.js';
import type { CommandArgs, CommandName, CommandResult, FromWorker, MediaEvent } from './protocol.js';

export type ChannelEvents = {
  event: [event: MediaEvent];
  /** The worker is gone (it exited, was killed, or closed). Pending requests were rejected. */
  exit: [info: { code: number | null; signal: string | null; requested: boolean }];
};

/** A request gets no answer within this: the worker is stuck (it is killed and replaced). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * One media worker as the control plane sees it: requests answered once, events pushed, an
 * exit. Implementations carry only plain data (JSON) across, whether the worker is a child
 * process (ProcessChannel) or runs in this process (InProcessChannel). Listeners are held by a
 * SafeEmitter: a throwing one is logged, never thrown into the channel.
 */
export abstract class MediaChannel extends SafeEmitter<ChannelEvents> {
  readonly #pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout; command: string }
  >();
  #nextId = 1;
  #exited = false;

  constructor(
    /** Which worker slot this is (0-based; a replacement keeps its slot). */
    readonly workerId: number,
    protected readonly log: Logger,
  ) {
    super(log);
  }

  /** The worker's OS process id (this process's for an in-process worker). */
  abstract get pid(): number | undefined;

  get exited(): boolean {
    return this.#exited;
  }

  request<C extends CommandName>(command: C, args: CommandArgs<C>): Promise<CommandResult<C>> {
    if (this.#exited)
      return Promise.reject(new LookoutError('MEDIA_WORKER_DIED', `media worker ${this.workerId} is gone`));
    const id = this.#nextId++;
    return new Promise<CommandResult<C>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new LookoutError('MEDIA_WORKER_TIMEOUT', `media worker ${this.workerId} did not answer ${command}`),
        );
        this.log.error({ command }, 'media worker did not answer in time: stopping it');
        this.kill();
      }, REQUEST_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, command });
      this.send({ type: 'request', id, command, args });
    });
  }

  /** Asks the worker to close its cameras and exit; resolves once it has. */
  abstract close(): Promise<void>;
  /** Ends the worker at once (SIGKILL for a process). */
  abstract kill(): void;
  protected abstract send(message: {
    type: 'request';
    id: number;
    command: CommandName;
    args: unknown;
  }): void;

  /** Feeds one message from the worker (implementations call this). */
  protected receive(message: FromWorker): void {
    if (message.type === 'response') {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new LookoutError(message.error.code, message.error.message));
    } else if (message.type === 'event') {
      const { type: _type, ...event } = message;
      this.emit('event', event as MediaEvent);
    }
  }

  /** The worker is gone: every pending request fails, listeners hear `exit` (once). */
  protected exitedWith(info: { code: number | null; signal: string | null; requested: boolean }): void {
    if (this.#exited) return;
    this.#exited = true;
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(
        new LookoutError(
          'MEDIA_WORKER_DIED',
          `media worker ${this.workerId} exited during ${pending.command}`,
        ),
      );
      this.#pending.delete(id);
    }
    this.emit('exit', info);
  }
}
