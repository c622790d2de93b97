import type { Logger } from '../core/log.js';
import { FfmpegWarningSummary, type SummaryLine, type SummaryOptions } from './ffmpeg-warnings.js';

/**
 * A camera's ffmpeg stderr as log lines: the summary (ffmpeg-warnings.ts) plus the timer
 * that ends each interval, so a burst of warnings is reported even if ffmpeg then goes quiet.
 * One per recorder (it outlives ffmpeg restarts); close() reports what is left.
 */
export class FfmpegLog {
  readonly #summary: FfmpegWarningSummary;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    options: SummaryOptions = {},
  ) {
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#summary = new FfmpegWarningSummary(options);
  }

  /** One line of ffmpeg's stderr. */
  line(text: string): void {
    this.#write(this.#summary.add(text, this.now()));
    if (this.#summary.pending && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#write(this.#summary.flush(this.now()));
      }, this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Reports what is counted and stops the timer. Idempotent. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#write(this.#summary.flush(this.now()));
  }

  #write(lines: SummaryLine[]): void {
    for (const line of lines) this.log[line.level](line.fields, line.message);
  }
}
