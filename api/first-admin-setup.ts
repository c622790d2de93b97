import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { User, UserStore } from '../devices/index.js';

/** Why a setup request was refused; the route maps each to a status. */
export type SetupRefusal = 'closed' | 'code' | 'busy';

/**
 * The first admin made from the browser (D38): on a first run (no user yet) the server prints a
 * one-time setup link holding a random code; whoever opens it (the person who started the
 * server, who sees its output) creates the first admin there. Unlike a printed password, the
 * code is worth nothing once a user exists, so the log line outlives nothing useful. The code
 * lives only in this process and changes at every start.
 */
export class FirstAdminSetup {
  readonly #users: UserStore;
  #digest: Buffer | undefined;
  #busy = false;

  /** `code` undefined: users existed at start, setup is closed for good. */
  constructor(
    users: UserStore,
    readonly code: string | undefined,
  ) {
    this.#users = users;
    this.#digest = code === undefined ? undefined : digest(code);
  }

  /** A fresh code (144 random bits, URL-safe). */
  static newCode(): string {
    return randomBytes(18).toString('base64url');
  }

  /** Whether the first admin may still be created (a code, and no user yet). */
  async open(): Promise<boolean> {
    if (!this.#digest) return false;
    if ((await this.#users.count()) > 0) this.#digest = undefined;
    return this.#digest !== undefined;
  }

  /**
   * Creates the first admin when `code` is this server's and still no user exists; the code is
   * spent on success. One attempt at a time (a second one meanwhile is `busy`); a failed add
   * (a bad name or password) leaves the code usable.
   */
  async createAdmin(
    code: string,
    name: string,
    password: string,
  ): Promise<{ user: User } | { refused: SetupRefusal }> {
    if (!(await this.open())) return { refused: 'closed' };
    const given = digest(code);
    if (!timingSafeEqual(given, this.#digest!)) return { refused: 'code' };
    if (this.#busy) return { refused: 'busy' };
    this.#busy = true;
    try {
      // Another process (`lookout user add`) may have made a user since open(): then it is done.
      if ((await this.#users.count()) > 0) {
        this.#digest = undefined;
        return { refused: 'closed' };
      }
      const user = await this.#users.add(name, 'admin', password);
      this.#digest = undefined;
      return { user };
    } finally {
      this.#busy = false;
    }
  }
}

function digest(code: string): Buffer {
  return createHash('sha256').update(code).digest();
}

/** The link the first-run line prints: this server's web app with the code in the fragment (never sent to a server or logged by a proxy). */
export function setupUrl(options: { host: string; port: number; tls: boolean; code: string }): string {
  const wildcard = options.host === '0.0.0.0' || options.host === '::' || options.host === '';
  const host = wildcard ? 'localhost' : options.host.includes(':') ? `[${options.host}]` : options.host;
  return `${options.tls ? 'https' : 'http'}://${host}:${options.port}/#setup=${options.code}`;
}
