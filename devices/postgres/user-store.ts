import { randomBytes } from 'node:crypto';
import {
  checkUserName,
  SESSION_IDLE_MS,
  SESSION_MAX_AGE_MS,
  SESSION_TOUCH_INTERVAL_MS,
  userExists,
  userNotFound,
} from '../device-rules.js';
import { hashPassword, NO_PASSWORD, verifyPassword } from '../passwords.js';
import { SESSION_COLUMNS, type SessionRow, toSession } from '../rows.js';
import type { SecretHasher } from '../secrets.js';
import { csrfFor, newSessionCookie, sessionCookieShape } from '../session-cookie.js';
import type { SignedIn, UserStore } from '../stores.js';
import type { Grant, Role, Session, User } from '../types.js';
import type { PgPool } from './pool.js';

export interface PgUserRow {
  name: string;
  role: Role;
  password_hash: string;
  password_generation: number;
  created_at: number;
}
interface PgGrantRow {
  user_name: string;
  device_id: string;
  live: boolean;
  recordings: boolean;
}
export const toUser = (row: PgUserRow): User => ({
  name: row.name,
  role: row.role,
  createdAt: row.created_at,
  passwordGeneration: row.password_generation,
});
export const toGrant = (row: PgGrantRow): Grant => ({
  user: row.user_name,
  camera: row.device_id,
  live: row.live,
  recordings: row.recordings,
});

/** Users, grants and sessions in PostgreSQL (D34). */
export class PgUserStore implements UserStore {
  constructor(
    private readonly pool: PgPool,
    private readonly hasher: SecretHasher,
    private readonly now: () => number = Date.now,
  ) {}

  async add(name: string, role: Role, password: string): Promise<User> {
    checkUserName(name);
    const hash = await hashPassword(password);
    const { rowCount } = await this.pool.query(
      `INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO NOTHING`,
      [name, role, hash, this.now()],
    );
    if (!rowCount) throw userExists(name);
    return this.#require(name);
  }

  async get(name: string): Promise<User | undefined> {
    const row = await this.#row(name);
    return row && toUser(row);
  }

  async list(): Promise<User[]> {
    const { rows } = await this.pool.query<PgUserRow>('SELECT * FROM users ORDER BY name');
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM users');
    return rows[0]!.n;
  }

  async setPassword(name: string, password: string, options: { keepSession?: string } = {}): Promise<User> {
    await this.#require(name);
    const hash = await hashPassword(password);
    await this.pool.transaction(async (client) => {
      await client.query(
        'UPDATE users SET password_hash = $1, password_generation = password_generation + 1 WHERE name = $2',
        [hash, name],
      );
      await client.query('DELETE FROM user_sessions WHERE user_name = $1 AND id IS DISTINCT FROM $2', [
        name,
        options.keepSession ?? null,
      ]);
    });
    return this.#require(name);
  }

  async setRole(name: string, role: Role): Promise<User> {
    await this.#require(name);
    await this.pool.query('UPDATE users SET role = $1 WHERE name = $2', [role, name]);
    return this.#require(name);
  }

  async remove(name: string): Promise<void> {
    await this.#require(name);
    const now = this.now();
    await this.pool.transaction(async (client) => {
      await client.query('DELETE FROM user_sessions WHERE user_name = $1', [name]);
      await client.query('DELETE FROM user_grants WHERE user_name = $1', [name]);
      await client.query(
        'UPDATE api_tokens SET revoked_at = $1 WHERE user_name = $2 AND revoked_at IS NULL',
        [now, name],
      );
      await client.query('DELETE FROM users WHERE name = $1', [name]);
    });
  }

  async verifyPassword(name: string, password: string): Promise<User | undefined> {
    const row = await this.#row(name);
    const ok = await verifyPassword(password, row?.password_hash ?? NO_PASSWORD);
    return ok && row ? toUser(row) : undefined;
  }

  async grant(name: string, camera: string, rights: { live: boolean; recordings: boolean }) {
    await this.#require(name);
    if (!rights.live && !rights.recordings) {
      await this.pool.query('DELETE FROM user_grants WHERE user_name = $1 AND device_id = $2', [
        name,
        camera,
      ]);
      return undefined;
    }
    await this.pool.query(
      `INSERT INTO user_grants (user_name, device_id, live, recordings) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_name, device_id) DO UPDATE SET live = EXCLUDED.live, recordings = EXCLUDED.recordings`,
      [name, camera, rights.live, rights.recordings],
    );
    return { user: name, camera, live: rights.live, recordings: rights.recordings };
  }

  async grants(name: string): Promise<Grant[]> {
    const { rows } = await this.pool.query<PgGrantRow>(
      'SELECT * FROM user_grants WHERE user_name = $1 ORDER BY device_id',
      [name],
    );
    return rows.map(toGrant);
  }

  async createSession(name: string): Promise<{ cookie: string } & SignedIn> {
    const user = await this.#require(name);
    const cookie = newSessionCookie();
    const now = this.now();
    const id = randomBytes(9).toString('base64url');
    await this.pool.query(
      `INSERT INTO user_sessions (${SESSION_COLUMNS}, cookie_hash) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, name, now, now, now + SESSION_MAX_AGE_MS, this.hasher.hash(cookie)],
    );
    await this.pool.query('DELETE FROM user_sessions WHERE expires_at <= $1 OR last_seen_at <= $2', [
      now,
      now - SESSION_IDLE_MS,
    ]);
    const session = (await this.#sessionRow(id))!;
    return { cookie, session: toSession(session), user, csrf: csrfFor(this.hasher, cookie) };
  }

  async session(cookie: string): Promise<SignedIn | undefined> {
    if (!sessionCookieShape(cookie)) return undefined;
    const { rows } = await this.pool.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM user_sessions WHERE cookie_hash = $1`,
      [this.hasher.hash(cookie)],
    );
    const row = rows[0];
    const now = this.now();
    if (!row || !live(row, now)) return undefined;
    const user = await this.#row(row.user_name);
    if (!user) return undefined;
    if (now - row.last_seen_at > SESSION_TOUCH_INTERVAL_MS) {
      try {
        await this.pool.query('UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2', [now, row.id]);
        row.last_seen_at = now;
      } catch {
        // Bookkeeping only; the next request tries again.
      }
    }
    return { session: toSession(row), user: toUser(user), csrf: csrfFor(this.hasher, cookie) };
  }

  async sessionById(id: string): Promise<Session | undefined> {
    const row = await this.#sessionRow(id);
    return row && live(row, this.now()) ? toSession(row) : undefined;
  }

  async endSession(id: string): Promise<void> {
    await this.pool.query('DELETE FROM user_sessions WHERE id = $1', [id]);
  }

  async #sessionRow(id: string): Promise<SessionRow | undefined> {
    const { rows } = await this.pool.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM user_sessions WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async #row(name: string): Promise<PgUserRow | undefined> {
    const { rows } = await this.pool.query<PgUserRow>('SELECT * FROM users WHERE name = $1', [name]);
    return rows[0];
  }

  async #require(name: string): Promise<User> {
    const row = await this.#row(name);
    if (!row) throw userNotFound(name);
    return toUser(row);
  }
}

function live(row: SessionRow, now: number): boolean {
  return row.expires_at > now && now - row.last_seen_at < SESSION_IDLE_MS;
}
