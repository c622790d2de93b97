import type { NodeLoad } from '../cluster/index.js';
import type { Logger } from '../core/log.js';
import type { MediaNode } from '../media/index.js';

/**
 * This node's load as the cluster sees it, sampled in the background (the heartbeat reads the
 * last sample synchronously): cameras and viewers from the media workers, recordings running,
 * and the CPU the server and its workers used since the previous sample (1 = one core).
 */
export class NodeLoadSampler {
  #last: NodeLoad = { cameras: 0, viewers: 0, recordings: 0, cpu: 0 };
  #previous: { at: number; cpuMs: number } | undefined;
  #sampling: Promise<void> | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly media: Pick<MediaNode, 'stats'>,
    private readonly recordings: () => number,
    /** Media runs in this process (`media.workers` 0): its CPU is already in this process's. */
    private readonly inProcess: boolean,
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.#timer = setInterval(() => {
      this.#sampling ??= this.sample().finally(() => {
        this.#sampling = undefined;
      });
    }, intervalMs);
    this.#timer.unref();
  }

  /** The latest sample. */
  current(): NodeLoad {
    return this.#last;
  }

  async sample(): Promise<void> {
    try {
      const workers = await this.media.stats();
      const own = process.cpuUsage();
      const workersMs = this.inProcess ? 0 : workers.reduce((sum, w) => sum + w.cpuMs, 0);
      const cpuMs = (own.user + own.system) / 1000 + workersMs;
      const at = performance.now();
      const cpu = this.#previous ? Math.max(0, (cpuMs - this.#previous.cpuMs) / (at - this.#previous.at)) : 0;
      this.#previous = { at, cpuMs };
      this.#last = {
        cameras: workers.reduce((sum, w) => sum + w.cameras.length, 0),
        viewers: workers.reduce((sum, w) => sum + w.cameras.reduce((n, c) => n + c.viewers, 0), 0),
        recordings: this.recordings(),
        cpu: Math.round(cpu * 1000) / 1000,
      };
    } catch (err) {
      this.log.debug({ err }, 'load sample failed (a media worker restarting?)');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
  }
}
