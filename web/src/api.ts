// The public HTTP API as the app calls it: the session (cookie + CSRF header), JSON calls, media links.
import { signal } from '@preact/signals';
import type { ProblemDocument, SessionDocument } from '../../http-contract/index.js';

const TOKEN_KEY = 'lookout.token';

/**
 * Who is signed in, as `GET /api/session` says: undefined while unknown, null when signed out.
 * The session cookie is HttpOnly: the page never sees it, only the CSRF token it must echo.
 */
export const me = signal<SessionDocument | null | undefined>(undefined);

/**
 * An API token kept in this browser (kiosks and scripted pages set `lookout.token` in
 * localStorage): used instead of the session when present. People sign in instead.
 */
export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

/** Whether the app may call the API (signed in, or a token is set). */
export function signedIn(): boolean {
  return Boolean(me.peek()) || token() !== '';
}

/** The headers a call needs: the token, or for the session the CSRF header on a state-changing method. */
export function authHeaders(method = 'GET'): Record<string, string> {
  const t = token();
  if (t) return { authorization: `Bearer ${t}` };
  const csrf = me.peek()?.csrf;
  return method !== 'GET' && method !== 'HEAD' && csrf ? { 'x-lookout-csrf': csrf } : {};
}

/** A failed API call; `message` is the problem document's detail when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<ProblemDocument> | undefined,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
  }
}

/** Calls the API (cookie or token); resolves with the JSON body (undefined for 204) or rejects with ApiError. */
export async function api<T>(path: string, init: { method?: string; body?: string } = {}): Promise<T> {
  const headers = authHeaders(init.method);
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (!res.ok) {
    const problem = (await res.json().catch(() => undefined)) as Partial<ProblemDocument> | undefined;
    // The session ended (signed out elsewhere, user removed, password changed): back to sign-in.
    if (res.status === 401 && !token()) me.value = null;
    throw new ApiError(res.status, problem);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** Asks the server who we are (on start, and after a token is set). */
export async function loadSession(): Promise<void> {
  try {
    me.value = await api<SessionDocument>('/api/session');
  } catch {
    me.value = null;
  }
}

/** Signs in; the server sets the session cookie. Rejects with ApiError (401 wrong password, 429 back-off). */
export async function signIn(username: string, password: string): Promise<void> {
  me.value = await api<SessionDocument>('/api/session', {
    method: 'POST',
    body: JSON.stringify({ username, password }),
  });
}

/** The one-time setup code of a first run, from the link the server printed (`#setup=<code>`). */
export function setupCode(): string | undefined {
  return /^#setup=([A-Za-z0-9_-]{1,128})$/.exec(location.hash)?.[1];
}

/** Whether the server still has no user (the first admin is made with the printed link). */
export async function setupOpen(): Promise<boolean> {
  return (await api<{ open: boolean }>('/api/setup').catch(() => ({ open: false }))).open;
}

/** Creates the first admin with the setup code and signs it in (D38); rejects with ApiError. */
export async function createFirstAdmin(code: string, username: string, password: string): Promise<void> {
  me.value = await api<SessionDocument>('/api/setup', {
    method: 'POST',
    body: JSON.stringify({ code, username, password }),
  });
  history.replaceState(null, '', location.pathname + location.search); // the code is spent
}

export async function signOut(): Promise<void> {
  await api('/api/session', { method: 'DELETE' }).catch(() => undefined);
  localStorage.removeItem(TOKEN_KEY);
  me.value = null;
}

/** Whether the signed-in principal may use `right` on camera `id` (what its buttons offer). */
export function mayUse(id: string, right: 'live' | 'recordings'): boolean {
  const who = me.value;
  if (!who) return token() !== '';
  if (who.cameras === null) return true;
  return who.cameras.some((c) => c.id === id && c[right]);
}

/** `path` with `params` (and a token as `access_token`), for links a browser follows by itself (the cookie goes along). */
export function mediaUrl(path: string, params: Record<string, string> = {}): string {
  const t = token();
  return `${path}?${new URLSearchParams({ ...params, ...(t ? { access_token: t } : {}) })}`;
}

export const deviceUrl = (id: string) => `/api/devices/${encodeURIComponent(id)}`;
