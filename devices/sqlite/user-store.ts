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
import { asDiskFull, type Db } from './db.js';

export interface UserRow {
  name: string;
  role: Role;
  password_hash: string;
  password_generation: number;
  created_at: number;
}
interface GrantRow {
  user_name: string;
  device_id: string;
  live: number;
  recordings: number;
}
export const toUser = (row: UserRow): User => ({
  name: row.name,
  role: row.role,
  createdAt: row.created_at,
  passwordGeneration: row.password_generation,
});
export const toGrant = (row: GrantRow): Grant => ({
  user: row.user_name,
  camera: row.device_id,
  live: row.live === 1,
  recordings: row.recordings === 1,
});

/** Users, grants and sessions in SQLite (D34). */
export class SqliteUserStore implements UserStore {
  readonly #db: Db;
  readonly #hasher: SecretHasher;
  readonly #now: () => number;

  constructor(db: Db, hasher: SecretHasher, now: () => number = Date.now) {
    this.#db = db;
    this.#hasher = hasher;
    this.#now = now;
  }

  async add(name: string, role: Role, password: string): Promise<User> {
    checkUserName(name);
    const hash = await hashPassword(password);
    if (this.#row(name)) throw userExists(name);
    try {
      this.#db
        .prepare('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(name, role, hash, this.#now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw userExists(name);
      throw asDiskFull(err, 'cannot add a user') ?? err;
    }
    return this.#require(name);
  }

  async get(name: string): Promise<User | undefined> {
    const row = this.#row(name);
    return row && toUser(row);
  }

  async list(): Promise<User[]> {
    return this.#db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name').all().map(toUser);
  }

  async count(): Promise<number> {
    return this.#db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM users').get()!.n;
  }

  async setPassword(name: string, password: string, options: { keepSession?: string } = {}): Promise<User> {
    this.#require(name);
    const hash = await hashPassword(password);
    this.#db.transaction(() => {
      this.#db
        .prepare(
          'UPDATE users SET password_hash = ?, password_generation = password_generation + 1 WHERE name = ?',
        )
        .run(hash, name);
      this.#db
        .prepare('DELETE FROM user_sessions WHERE user_name = ? AND id IS NOT ?')
        .run(name, options.keepSession ?? null);
    })();
    return this.#require(name);
  }

  async setRole(name: string, role: Role): Promise<User> {
    this.#require(name);
    this.#db.prepare('UPDATE users SET role = ? WHERE name = ?').run(role, name);
    return this.#require(name);
  }

  async remove(name: string): Promise<void> {
    this.#require(name);
    const now = this.#now();
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM user_sessions WHERE user_name = ?').run(name);
      this.#db.prepare('DELETE FROM user_grants WHERE user_name = ?').run(name);
      this.#db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL')
        .run(now, name);
      this.#db.prepare('DELETE FROM users WHERE name = ?').run(name);
    })();
  }

  async verifyPassword(name: string, password: string): Promise<User | undefined> {
    const row = this.#row(name);
    // An unknown name costs the same scrypt run as a known one.
    const ok = await verifyPassword(password, row?.password_hash ?? NO_PASSWORD);
    return ok && row ? toUser(row) : undefined;
  }

  async grant(name: string, camera: string, rights: { live: boolean; recordings: boolean }) {
    this.#require(name);
    if (!rights.live && !rights.recordings) {
      this.#db.prepare('DELETE FROM user_grants WHERE user_name = ? AND device_id = ?').run(name, camera);
      return undefined;
    }
    this.#db
      .prepare(
        `INSERT INTO user_grants (user_name, device_id, live, recordings) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_name, device_id) DO UPDATE SET live = excluded.live, recordings = excluded.recordings`,
      )
      .run(name, camera, rights.live ? 1 : 0, rights.recordings ? 1 : 0);
    return { user: name, camera, live: rights.live, recordings: rights.recordings };
  }

  async grants(name: string): Promise<Grant[]> {
    return this.#db
      .prepare<[string], GrantRow>('SELECT * FROM user_grants WHERE user_name = ? ORDER BY device_id')
      .all(name)
      .map(toGrant);
  }

  async createSession(name: string): Promise<{ cookie: string } & SignedIn> {
    const user = this.#require(name);
    const cookie = newSessionCookie();
    const now = this.#now();
    const id = randomBytes(9).toString('base64url');
    this.#db
      .prepare(`INSERT INTO user_sessions (${SESSION_COLUMNS}, cookie_hash) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(id, name, now, now, now + SESSION_MAX_AGE_MS, this.#hasher.hash(cookie));
    // Expired sessions of anyone are swept on sign-in, so the table stays bounded by the live ones.
    this.#db
      .prepare('DELETE FROM user_sessions WHERE expires_at <= ? OR last_seen_at <= ?')
      .run(now, now - SESSION_IDLE_MS);
    const session = this.#sessionRow(id)!;
    return { cookie, session: toSession(session), user, csrf: csrfFor(this.#hasher, cookie) };
  }

  async session(cookie: string): Promise<SignedIn | undefined> {
    if (!sessionCookieShape(cookie)) return undefined;
    const row = this.#db
      .prepare<[Buffer], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM user_sessions WHERE cookie_hash = ?`)
      .get(this.#hasher.hash(cookie));
    const now = this.#now();
    if (!row || !live(row, now)) return undefined;
    const user = this.#row(row.user_name);
    if (!user) return undefined;
    if (now - row.last_seen_at > SESSION_TOUCH_INTERVAL_MS) {
      try {
        this.#db.prepare('UPDATE user_sessions SET last_seen_at = ? WHERE id = ?').run(now, row.id);
        row.last_seen_at = now;
      } catch {
        // Bookkeeping only (a full disk must not sign anyone out); the next request tries again.
      }
    }
    return { session: toSession(row), user: toUser(user), csrf: csrfFor(this.#hasher, cookie) };
  }

  async sessionById(id: string): Promise<Session | undefined> {
    const row = this.#sessionRow(id);
    return row && live(row, this.#now()) ? toSession(row) : undefined;
  }

  async endSession(id: string): Promise<void> {
    this.#db.prepare('DELETE FROM user_sessions WHERE id = ?').run(id);
  }

  #sessionRow(id: string): SessionRow | undefined {
    return this.#db
      .prepare<[string], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM user_sessions WHERE id = ?`)
      .get(id);
  }

  #row(name: string): UserRow | undefined {
    return this.#db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?').get(name);
  }

  #require(name: string): User {
    const row = this.#row(name);
    if (!row) throw userNotFound(name);
    return toUser(row);
  }
}

function live(row: SessionRow, now: number): boolean {
  return row.expires_at > now && now - row.last_seen_at < SESSION_IDLE_MS;
}
