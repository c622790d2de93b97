import { randomBytes } from 'node:crypto';
import { TOKEN_MAX_LENGTH, TOKEN_TOUCH_INTERVAL_MS, tokenNotFound } from '../device-rules.js';
import { API_TOKEN_PREFIX, generateSecret, type SecretHasher } from '../secrets.js';
import type { TokenStore } from '../stores.js';
import { scopeColumns, TOKEN_COLUMNS, type TokenRowBase, toApiToken } from '../token-scope.js';
import type { ApiToken, TokenScope } from '../types.js';
import { asDiskFull, type Db } from './db.js';

export type TokenRow = TokenRowBase;

const COLUMNS = TOKEN_COLUMNS;

/** API tokens in SQLite: only their keyed hashes are stored. */
export class SqliteTokenStore implements TokenStore {
  readonly #hasher: SecretHasher;
  readonly #now: () => number;
  readonly #stmt;

  constructor(db: Db, hasher: SecretHasher, now: () => number = Date.now) {
    this.#hasher = hasher;
    this.#now = now;
    this.#stmt = {
      insert: db.prepare(
        'INSERT INTO api_tokens (id, name, token_hash, created_at, user_name, cameras, read_only) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
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

  async create(name = 'api', scope?: TokenScope): Promise<{ token: string; info: ApiToken }> {
    const id = randomBytes(6).toString('hex');
    const token = generateSecret(API_TOKEN_PREFIX);
    const { user, cameras, readOnly } = scopeColumns(scope);
    try {
      this.#stmt.insert.run(
        id,
        name.trim() || 'api',
        this.#hasher.hash(token),
        this.#now(),
        user,
        cameras,
        readOnly ? 1 : 0,
      );
    } catch (err) {
      throw asDiskFull(err, 'cannot create a token') ?? err;
    }
    return { token, info: this.#require(id) };
  }

  async verify(token: string): Promise<ApiToken | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > TOKEN_MAX_LENGTH) return undefined;
    const row = this.#stmt.byHash.get(this.#hasher.hash(token));
    if (!row || row.revoked_at !== null) return undefined;
    const now = this.#now();
    if (row.last_used_at === null || now - row.last_used_at > TOKEN_TOUCH_INTERVAL_MS) {
      try {
        this.#stmt.touch.run(now, row.id);
      } catch {
        // Bookkeeping only: a full disk (or a busy registry) must not refuse a valid token,
        // or live view would stop with the disk (issue 9, item 5). The next use tries again.
      }
    }
    return toToken(row);
  }

  async isActive(id: string): Promise<boolean> {
    return this.#stmt.active.get(id) !== undefined;
  }

  async list(): Promise<ApiToken[]> {
    return this.#stmt.list.all().map(toToken);
  }

  async require(id: string): Promise<ApiToken> {
    return this.#require(id);
  }

  async revoke(id: string): Promise<ApiToken> {
    this.#require(id);
    this.#stmt.revoke.run(this.#now(), id);
    return this.#require(id);
  }

  #require(id: string): ApiToken {
    const row = this.#stmt.get.get(id);
    if (!row) throw tokenNotFound(id);
    return toToken(row);
  }
}

export const toToken = toApiToken;
