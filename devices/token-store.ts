import { randomBytes } from 'node:crypto';
import { LookoutError } from '../core/errors.js';
import { asDiskFull, type Db } from './db.js';
import { API_TOKEN_PREFIX, generateSecret, type SecretHasher } from './secrets.js';

/** An API token for people and scripts (HTTP API, WHEP). The token itself is never stored. */
export interface ApiToken {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface TokenRow {
  id: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const COLUMNS = 'id, name, created_at, last_used_at, revoked_at';
/** last_used_at is bookkeeping: refresh it at most this often, not on every request. */
const TOUCH_INTERVAL_MS = 60_000;

export class TokenStore {
  readonly #hasher: SecretHasher;
  readonly #now: () => number;
  readonly #stmt;

  constructor(db: Db, hasher: SecretHasher, now: () => number = Date.now) {
    this.#hasher = hasher;
    this.#now = now;
    this.#stmt = {
      insert: db.prepare('INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)'),
      byHash: db.prepare<[Buffer], TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE token_hash = ?`),
      get: db.prepare<[string], TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = ?`),
      active: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM api_tokens WHERE id = ? AND revoked_at IS NULL',
      ),
      list: db.prepare<[], TokenRow>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, id`),
      touch: db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
      revoke: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    };
  }

  /** Creates a token; the returned `token` string is shown once and never again. */
  create(name = 'api'): { token: string; info: ApiToken } {
    const id = randomBytes(6).toString('hex');
    const token = generateSecret(API_TOKEN_PREFIX);
    try {
      this.#stmt.insert.run(id, name.trim() || 'api', this.#hasher.hash(token), this.#now());
    } catch (err) {
      throw asDiskFull(err, 'cannot create a token') ?? err;
    }
    return { token, info: this.require(id) };
  }

  /** The token's record when `token` is valid and not revoked; undefined otherwise. */
  verify(token: string): ApiToken | undefined {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 128) return undefined;
    const row = this.#stmt.byHash.get(this.#hasher.hash(token));
    if (!row || row.revoked_at !== null) return undefined;
    const now = this.#now();
    if (row.last_used_at === null || now - row.last_used_at > TOUCH_INTERVAL_MS) {
      try {
        this.#stmt.touch.run(now, row.id);
      } catch {
        // Bookkeeping only: a full disk (or a busy registry) must not refuse a valid token,
        // or live view would stop with the disk (issue 9, item 5). The next use tries again.
      }
    }
    return toToken(row);
  }

  /**
   * Whether the token `id` exists and is not revoked, whichever process revoked it: a running
   * server asks this for the owners of open WHEP sessions (api/whep-token-watch.ts).
   */
  isActive(id: string): boolean {
    return this.#stmt.active.get(id) !== undefined;
  }

  list(): ApiToken[] {
    return this.#stmt.list.all().map(toToken);
  }

  require(id: string): ApiToken {
    const row = this.#stmt.get.get(id);
    if (!row) throw new LookoutError('TOKEN_NOT_FOUND', `no API token '${id}'`, { id });
    return toToken(row);
  }

  revoke(id: string): ApiToken {
    this.require(id);
    this.#stmt.revoke.run(this.#now(), id);
    return this.require(id);
  }
}

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
