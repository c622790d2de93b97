// The public HTTP API as the app calls it: the token kept in the browser, bearer calls, media links.
import type { ProblemDocument } from '../../http-contract/index.js';

const TOKEN_KEY = 'lookout.token';

/** The API token, read at every call (another tab, or a test, may have changed it). */
export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function saveToken(value: string): void {
  localStorage.setItem(TOKEN_KEY, value);
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

/** Calls the API with the bearer token; resolves with the JSON body or rejects with ApiError. */
export async function api<T>(path: string, init: { method?: string; body?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token()}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
  return (await res.json()) as T;
}

/** `path` with `params` and the token as `access_token`, for links a browser follows by itself. */
export function mediaUrl(path: string, params: Record<string, string> = {}): string {
  return `${path}?${new URLSearchParams({ ...params, access_token: token() })}`;
}

export const deviceUrl = (id: string) => `/api/devices/${encodeURIComponent(id)}`;
