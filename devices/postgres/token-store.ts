import { randomBytes } from 'node:crypto';
import { TOKEN_MAX_LENGTH, TOKEN_TOUCH_INTERVAL_MS, tokenNotFound } from '../device-rules.js';
import { API_TOKEN_PREFIX, generateSecret, type SecretHasher } from '../secrets.js';
import type { TokenStore } from '../stores.js';
import { scopeColumns, TOKEN_COLUMNS, type TokenRowBase, toApiToken } from '../token-scope.js';
import type { ApiToken, TokenScope } from '../types.js';
import type { PgPool } from './pool.js';

export type PgTokenRow = TokenRowBase;

const COLUMNS = TOKEN_COLUMNS;

/** API tokens in PostgreSQL: only their keyed hashes are stored. */
export class PgTokenStore implements TokenStore {
  constructor(
    private readonly pool: PgPool,
    private readonly hasher: SecretHasher,
    private readonly now: () => number = Date.now,
  ) {}

  async create(name = 'api', scope?: TokenScope): Promise<{ token: string; info: ApiToken }> {
    const id = randomBytes(6).toString('hex');
    const token = generateSecret(API_TOKEN_PREFIX);
    const { user, cameras, readOnly } = scopeColumns(scope);
    await this.pool.query(
      `INSERT INTO api_tokens (id, name, token_hash, created_at, user_name, cameras, read_only)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, name.trim() || 'api', this.hasher.hash(token), this.now(), user, cameras, readOnly],
    );
    return { token, info: await this.require(id) };
  }

  async verify(token: string): Promise<ApiToken | undefined> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > TOKEN_MAX_LENGTH) return undefined;
    const { rows } = await this.pool.query<PgTokenRow>(
      `SELECT ${COLUMNS} FROM api_tokens WHERE token_hash = $1`,
      [this.hasher.hash(token)],
    );
    const row = rows[0];
    if (!row || row.revoked_at !== null) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at > TOKEN_TOUCH_INTERVAL_MS) {
      try {
        await this.pool.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [now, row.id]);
      } catch {
        // Bookkeeping only: a failed write must not refuse a valid token. The next use tries again.
      }
    }
    return toToken(row);
  }

  async isActive(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at IS NULL',
      [id],
    );
    return (rowCount ?? 0) > 0;
  }

  async list(): Promise<ApiToken[]> {
    const { rows } = await this.pool.query<PgTokenRow>(
      `SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, id`,
    );
    return rows.map(toToken);
  }

  async require(id: string): Promise<ApiToken> {
    const { rows } = await this.pool.query<PgTokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1`, [
      id,
    ]);
    if (!rows[0]) throw tokenNotFound(id);
    return toToken(rows[0]);
  }

  async revoke(id: string): Promise<ApiToken> {
    await this.require(id);
    await this.pool.query('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [
      this.now(),
      id,
    ]);
    return this.require(id);
  }
}

export const toToken = toApiToken;
