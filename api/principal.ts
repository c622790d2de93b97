import type { ApiToken, Grant, Role, SignedIn, User, UserStore } from '../devices/index.js';

/**
 * Who a request acts for (D34): a signed-in browser session or an API token. `key` names it
 * for the WHEP sessions and event streams it owns (`s:<session id>`, `t:<token id>`).
 */
export interface Principal {
  key: string;
  kind: 'session' | 'token';
  /** The user's name; for a legacy token, the token's name. */
  name: string;
  user: string | null;
  role: Role;
  /** Per-camera rights of a viewer; undefined for an admin (every camera). */
  grants: ReadonlyMap<string, { live: boolean; recordings: boolean }> | undefined;
  /** A token limited to these cameras (null: not limited). */
  cameras: ReadonlySet<string> | null;
  readOnly: boolean;
  /** Sessions only: what the X-Lookout-CSRF header must carry on a state-changing request. */
  csrf?: string;
}

/**
 * What a route asks of its principal: `view` any signed-in principal (lists are filtered),
 * `see` any right on the route's camera, `live` / `recordings` that right on it, `admin` an admin not limited to
 * reading (device management, recording policy, metrics).
 */
export type Right = 'view' | 'see' | 'live' | 'recordings' | 'admin';

/** Whether `p` holds `right` (on `camera`, for `live` and `recordings`). */
export function may(p: Principal, right: Right, camera?: string): boolean {
  if (right === 'view') return true;
  if (right === 'admin') return p.role === 'admin' && !p.readOnly && p.cameras === null;
  if (camera === undefined) return false;
  if (right === 'see') return may(p, 'live', camera) || may(p, 'recordings', camera);
  if (p.cameras && !p.cameras.has(camera)) return false;
  if (p.role === 'admin') return true;
  return p.grants?.get(camera)?.[right] ?? false;
}

/** Whether `p` may see `camera` at all (lists, event snapshots). */
export function seesCamera(p: Principal, camera: string): boolean {
  return may(p, 'see', camera);
}

/** What a principal may see, as a string: a change sends its event streams a fresh snapshot. */
export function rightsKey(p: Principal | undefined): string {
  if (!p) return '*';
  return JSON.stringify([p.role, [...(p.grants ?? [])], p.cameras && [...p.cameras]]);
}

function grantMap(grants: readonly Grant[]) {
  return new Map(grants.map((g) => [g.camera, { live: g.live, recordings: g.recordings }]));
}

export function sessionPrincipal(signed: SignedIn, grants: readonly Grant[]): Principal {
  return {
    key: `s:${signed.session.id}`,
    kind: 'session',
    name: signed.user.name,
    user: signed.user.name,
    role: signed.user.role,
    grants: signed.user.role === 'admin' ? undefined : grantMap(grants),
    cameras: null,
    readOnly: false,
    csrf: signed.csrf,
  };
}

/** A token's principal; its user's rights at most (undefined when the user is gone). */
export function tokenPrincipal(
  token: ApiToken,
  user: User | undefined,
  grants: readonly Grant[],
): Principal | undefined {
  if (token.user !== null && !user) return undefined;
  const role: Role = user ? user.role : 'admin';
  return {
    key: `t:${token.id}`,
    kind: 'token',
    name: user ? user.name : token.name,
    user: token.user,
    role,
    grants: role === 'admin' ? undefined : grantMap(grants),
    cameras: token.cameras === null ? null : new Set(token.cameras),
    readOnly: token.readOnly,
  };
}

/** What the API needs of the token store. */
export interface TokenVerifier {
  verify(token: string): Promise<ApiToken | undefined>;
  /** Whether the token with this id exists and is not revoked (no bookkeeping, one indexed read). */
  isActive(id: string): Promise<boolean>;
  require?(id: string): Promise<ApiToken>;
}

/**
 * Resolves principals from credentials (a bearer token, a session cookie) and, for the
 * watches that end live sessions, again from their key: a principal that no longer
 * resolves, or no longer holds a right, loses what it holds within a second.
 */
export class Access {
  constructor(
    readonly tokens: TokenVerifier,
    readonly users: UserStore | undefined,
  ) {}

  async fromToken(secret: string): Promise<Principal | undefined> {
    const token = await this.tokens.verify(secret);
    return token && this.#ofToken(token);
  }

  async fromCookie(cookie: string): Promise<Principal | undefined> {
    const signed = await this.users?.session(cookie);
    return signed && sessionPrincipal(signed, await this.users!.grants(signed.user.name));
  }

  /** The principal `key` names as it is now; undefined when revoked, removed or signed out. */
  async current(key: string): Promise<Principal | undefined> {
    const id = key.slice(2);
    if (key.startsWith('t:')) {
      if (!(await this.tokens.isActive(id))) return undefined;
      if (!this.tokens.require) return legacyPrincipal(id);
      return this.#ofToken(await this.tokens.require(id));
    }
    if (key.startsWith('s:') && this.users) {
      const session = await this.users.sessionById(id);
      const user = session && (await this.users.get(session.user));
      if (!session || !user) return undefined;
      const signed = { session, user, csrf: '' };
      return sessionPrincipal(signed, await this.users.grants(user.name));
    }
    return undefined;
  }

  async #ofToken(token: ApiToken): Promise<Principal | undefined> {
    if (token.user === null || !this.users) return tokenPrincipal(token, undefined, []);
    const user = await this.users.get(token.user);
    return tokenPrincipal(token, user, user ? await this.users.grants(user.name) : []);
  }
}

function legacyPrincipal(id: string): Principal {
  return {
    key: `t:${id}`,
    kind: 'token',
    name: id,
    user: null,
    role: 'admin',
    grants: undefined,
    cameras: null,
    readOnly: false,
  };
}
