import { type FSWatcher, realpathSync, watch } from 'node:fs';
import path from 'node:path';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import type { Logger } from './log.js';
import {
  type CertificateInfo,
  type CertificatePair,
  logCertificate,
  readCertificatePair,
  type TlsFiles,
} from './tls-files.js';

export interface ReloadingCertificateOptions {
  /** Names the files in logs and errors: `http.tls`, `mqtt.tls`. */
  configKey: string;
  /** Every secure context gets these besides `cert` and `key` (ciphers, versions). */
  base: SecureContextOptions;
  log: Logger;
  /** Quiet time after the last change in the watched directories before the files are read. */
  debounceMs?: number;
  /** Clock for the expiry warning. */
  now?: () => number;
}

/** Long enough for `cp cert.pem; cp key.pem` or certbot's two renames to land together. */
export const RELOAD_DEBOUNCE_MS = 250;

/**
 * A certificate and key served by TLS servers, swapped into them (`setSecureContext`) when
 * the files change on disk, without a restart. Handshakes after a swap get the new
 * certificate; connections already open keep theirs.
 *
 * The watch is on the files' directories (and those of their symlink targets), not on the
 * files: a rename over a file (certbot, most editors, `mv`) replaces the inode a file watch
 * would follow. Changes are debounced; identical contents are ignored; a pair that does not
 * check out (half-written, key not yet replaced) keeps the old certificate in service and is
 * logged once as an error, and the next change tries again.
 */
export class ReloadingCertificate {
  readonly #files: TlsFiles;
  readonly #options: ReloadingCertificateOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #servers = new Set<TlsServer>();
  readonly #watchers: FSWatcher[] = [];
  #pair: CertificatePair;
  #timer: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  #closed = false;

  /** Reads and checks the pair now (throws the coded errors of readCertificatePair) and starts watching. */
  constructor(files: TlsFiles, options: ReloadingCertificateOptions) {
    this.#files = files;
    this.#options = options;
    this.#log = options.log.child({ tls: options.configKey });
    this.#now = options.now ?? Date.now;
    this.#pair = readCertificatePair(files, options.configKey, options.base);
    logCertificate(this.#log, this.#pair.info, this.#now(), 'TLS certificate loaded');
    this.#watch();
  }

  /** The certificate in service. */
  get info(): CertificateInfo {
    return this.#pair.info;
  }

  /** Options for creating a TLS server with the certificate in service. */
  secureContextOptions(): SecureContextOptions {
    return { ...this.#options.base, cert: this.#pair.cert, key: this.#pair.key };
  }

  /** `server` gets every later certificate (its owner closes it). */
  attach(server: TlsServer): void {
    this.#servers.add(server);
  }

  /**
   * Reads the files now; swaps a changed, valid pair into every attached server. Returns
   * whether a new certificate is in service. Never throws.
   */
  reload(): boolean {
    if (this.#closed) return false;
    let pair: CertificatePair;
    try {
      pair = readCertificatePair(this.#files, this.#options.configKey, this.#options.base);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.#lastError) {
        this.#lastError = message;
        this.#log.error(
          { code: (err as { code?: string }).code, err: message, serving: this.#pair.info.fingerprint256 },
          'TLS certificate not reloaded: keeping the one in service until the files change again',
        );
      }
      return false;
    }
    this.#lastError = undefined;
    if (pair.cert.equals(this.#pair.cert) && pair.key.equals(this.#pair.key)) return false;
    this.#pair = pair;
    const options = this.secureContextOptions();
    for (const server of this.#servers) server.setSecureContext(options);
    logCertificate(this.#log, pair.info, this.#now(), 'TLS certificate reloaded');
    return true;
  }

  /** Idempotent: stops watching. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.splice(0)) watcher.close();
    this.#servers.clear();
  }

  #watch(): void {
    const names = new Map<string, Set<string>>();
    const add = (file: string) => {
      const dir = path.dirname(path.resolve(file));
      const set = names.get(dir) ?? new Set<string>();
      set.add(path.basename(file));
      names.set(dir, set);
    };
    for (const file of [this.#files.cert, this.#files.key]) {
      add(file);
      try {
        add(realpathSync(file)); // a symlink (certbot's live/ directory): its target's directory too
      } catch {
        // checked readable just now; a race with a rename is caught by the directory watch
      }
    }
    const debounceMs = this.#options.debounceMs ?? RELOAD_DEBOUNCE_MS;
    for (const [dir, files] of names) {
      const watcher = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && !files.has(filename.toString())) return;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.reload(), debounceMs);
      });
      watcher.on('error', (err) =>
        this.#log.error(
          { dir, err: err.message },
          'cannot watch the TLS files any more: changes need a restart',
        ),
      );
      this.#watchers.push(watcher);
    }
  }
}
