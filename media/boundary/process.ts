import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LookoutError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { MediaChannel } from './channel.js';
import type { CommandName, FromWorker, ToWorker, WorkerInit } from './protocol.js';

/** A worker that has not said `ready` within this is killed (and replaced by the pool). */
const READY_TIMEOUT_MS = 30_000;
/** After `shutdown`, how long a worker may take to close its cameras before SIGKILL. */
const CLOSE_TIMEOUT_MS = 10_000;
/** Longest stdout/stderr line of a worker that is logged whole. */
const MAX_LINE = 2000;

/**
 * The worker's entry point: the compiled `entry.js` next to this file, or, when Lookout runs
 * from its TypeScript sources (tests, `npm run dev`), `entry.ts` through tsx's loader.
 */
function entryPoint(): { file: string; execArgv: string[] } {
  // A server run with `node --cpu-prof --cpu-prof-dir=DIR` (or --heap-prof) profiles its workers too.
  const profiling = process.execArgv.filter(
    (a) => /^--(cpu|heap)-prof/.test(a) && !/^--(cpu|heap)-prof-dir$/.test(a),
  );
  const js = fileURLToPath(new URL('../worker/entry.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: profiling };
  const ts = fileURLToPath(new URL('../worker/entry.ts', import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { file: ts, execArgv: [...profiling, '--import', tsx] };
}

/**
 * A media worker in a child process (Node IPC, JSON). The child exits when this process goes
 * away (its IPC channel closes), so a killed server leaves no worker behind. Its stdout and
 * stderr are logged line by line with the worker id.
 */
export class ProcessChannel extends MediaChannel {
  readonly #child: ChildProcess;
  readonly ready: Promise<void>;
  #closeRequested = false;
  #exitedPromise: Promise<void>;

  constructor(init: WorkerInit, log: Logger) {
    super(init.workerId, log);
    const { file, execArgv } = entryPoint();
    this.#child = fork(file, [`--media-worker=${init.workerId}`], {
      execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const child = this.#child;
    for (const stream of [child.stdout!, child.stderr!]) {
      const name = stream === child.stdout ? 'stdout' : 'stderr';
      createInterface({ input: stream }).on('line', (line) =>
        this.log.warn(
          { worker: init.workerId, stream: name, line: line.slice(0, MAX_LINE) },
          'media worker output',
        ),
      );
    }
    this.#exitedPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedWith({ code, signal, requested: this.#closeRequested });
        resolve();
      });
    });
    child.on('error', (err) => this.log.error({ err, worker: init.workerId }, 'media worker process error'));
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new LookoutError('MEDIA_WORKER_START', `media worker ${init.workerId} did not start in time`));
        this.kill();
      }, READY_TIMEOUT_MS);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new LookoutError(
            'MEDIA_WORKER_START',
            `media worker ${init.workerId} exited while starting (${signal ?? `code ${code}`})`,
          ),
        );
      });
      child.on('message', (raw) => {
        const message = raw as FromWorker;
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else this.receive(message);
      });
    });
    this.ready.catch(() => {});
    this.#post({ type: 'init', init });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  protected send(message: { type: 'request'; id: number; command: CommandName; args: unknown }): void {
    this.#post(message);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.#closeRequested = true;
    this.#post({ type: 'shutdown' });
    const timer = setTimeout(() => this.kill(), CLOSE_TIMEOUT_MS);
    await this.#exitedPromise;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.#child.kill('SIGKILL');
  }

  #post(message: ToWorker): void {
    if (!this.#child.connected) return;
    this.#child.send(message, (err) => {
      if (err)
        this.log.debug({ err: err.message, worker: this.workerId }, 'could not reach the media worker');
    });
  }
}
