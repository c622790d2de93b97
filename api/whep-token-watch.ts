import type { Logger } from '../core/log.js';
import type { TokenVerifier } from './auth.js';
import type { WhepService } from './routes-whep.js';

/** How often the owners of open WHEP sessions are checked: "revoked ends sessions within 1 s". */
export const TOKEN_WATCH_INTERVAL_MS = 250;

/**
 * Ends the WHEP sessions of revoked API tokens. `lookout token revoke` usually runs in another
 * process, which writes only the shared SQLite file; so every interval this asks the token
 * store about each distinct owner of an open session (one indexed read each, nothing at all
 * while no session is open) and ends the sessions of any owner no longer active.
 */
export class WhepTokenWatch {
  readonly #whep: Pick<WhepService, 'sessionOwners' | 'endSessionsOf'>;
  readonly #tokens: Pick<TokenVerifier, 'isActive'>;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  /** Owners whose sessions are being ended (not asked again meanwhile). */
  readonly #ending = new Set<string>();
  #polling: Promise<void> | undefined;

  constructor(
    whep: Pick<WhepService, 'sessionOwners' | 'endSessionsOf'>,
    tokens: Pick<TokenVerifier, 'isActive'>,
    log: Logger,
    intervalMs = TOKEN_WATCH_INTERVAL_MS,
  ) {
    this.#whep = whep;
    this.#tokens = tokens;
    this.#log = log;
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    this.#timer.unref();
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
    const revoked: string[] = [];
    try {
      for (const owner of this.#whep.sessionOwners()) {
        if (!this.#ending.has(owner) && !(await this.#tokens.isActive(owner))) revoked.push(owner);
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'cannot check the tokens of WHEP sessions');
      return;
    }
    for (const owner of revoked) {
      if (this.#ending.has(owner)) continue;
      this.#ending.add(owner);
      this.#whep
        .endSessionsOf(owner, 'token-revoked')
        .then((sessions) => this.#log.info({ token: owner, sessions }, 'WHEP sessions ended: token revoked'))
        .catch((err) =>
          this.#log.warn({ token: owner, err: (err as Error).message }, 'ending WHEP sessions failed'),
        )
        .finally(() => this.#ending.delete(owner));
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
