import type { Logger } from '../core/log.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import { may, type Principal } from './principal.js';
import type { WhepService } from './routes-whep.js';

/** How often the owners of open WHEP sessions are checked: "revoked ends sessions within 1 s". */
export const TOKEN_WATCH_INTERVAL_MS = 250;

/**
 * Ends the WHEP sessions of principals that lost the right to watch (D34): a revoked token, a
 * removed user, a session signed out or ended by a password change, a grant taken away. These
 * changes usually come from `lookout` in another process, which writes only the shared
 * registry; so every interval this asks the registry about each distinct owner of an open
 * session (a few indexed reads each) and ends the sessions of an owner gone, or those on cameras
 * it may no longer watch. Its timer runs only while a session is open (`sessionOpened()` starts
 * it again): an idle server is not woken four times a second for nothing.
 */
export class PrincipalWatch {
  readonly #whep: Pick<WhepService, 'sessionCameras' | 'endSessionsOf'>;
  readonly #principals: { current(key: string): Promise<Principal | undefined> };
  readonly #log: Logger;
  /** A registry outage fails every poll: one line per window, and one when it answers again. */
  readonly #failing: RateLimitedLog;
  #failed = false;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Owners (or owner and camera) whose sessions are being ended (not asked again meanwhile). */
  readonly #ending = new Set<string>();
  #polling: Promise<void> | undefined;

  constructor(
    whep: Pick<WhepService, 'sessionCameras' | 'endSessionsOf'>,
    principals: { current(key: string): Promise<Principal | undefined> },
    log: Logger,
    intervalMs = TOKEN_WATCH_INTERVAL_MS,
    now: () => number = Date.now,
  ) {
    this.#whep = whep;
    this.#principals = principals;
    this.#log = log;
    this.#failing = new RateLimitedLog(log, now);
    this.#intervalMs = intervalMs;
    this.sessionOpened();
  }

  /** A WHEP session opened: the watch runs (until no session is left). */
  sessionOpened(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.poll(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Whether its timer runs (for tests). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Checks every owner of an open session now. Never rejects (it runs on a timer); a poll
   * still waiting for the registry when the next tick comes is not doubled.
   */
  poll(): Promise<void> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #poll(): Promise<void> {
    const ends: Array<{ owner: string; camera?: string; reason: string }> = [];
    const sessions = this.#whep.sessionCameras();
    if (sessions.size === 0 && this.#ending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    try {
      for (const [owner, cameras] of sessions) {
        if (this.#ending.has(owner)) continue;
        const principal = await this.#principals.current(owner);
        if (!principal) {
          ends.push({ owner, reason: owner.startsWith('t:') ? 'token-revoked' : 'signed-out' });
          continue;
        }
        for (const camera of cameras)
          if (!may(principal, 'live', camera)) ends.push({ owner, camera, reason: 'right-revoked' });
      }
    } catch (err) {
      this.#failed = true;
      this.#failing.warn(
        'principal-watch',
        { err: (err as Error).message },
        'cannot check the principals of WHEP sessions (they go on meanwhile)',
      );
      return;
    }
    if (this.#failed) {
      this.#failed = false;
      this.#log.info('checking the principals of WHEP sessions again');
    }
    for (const { owner, camera, reason } of ends) {
      const key = camera === undefined ? owner : `${owner} ${camera}`;
      if (this.#ending.has(key)) continue;
      this.#ending.add(key);
      this.#whep
        .endSessionsOf(owner, reason, camera)
        .then((sessions) =>
          this.#log.info(
            { principal: owner, camera, sessions, reason },
            'WHEP sessions ended: right revoked',
          ),
        )
        .catch((err) =>
          this.#log.warn({ principal: owner, err: (err as Error).message }, 'ending WHEP sessions failed'),
        )
        .finally(() => this.#ending.delete(key));
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
