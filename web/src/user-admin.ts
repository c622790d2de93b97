// User administration through the public HTTP API (no DOM), admins only (D38): list, add,
// role, password, remove, per-camera grants. Each change answers the user as it is now.
import type { UserDocument } from '../../http-contract/index.js';
import { api, me } from './api.js';

export type Role = UserDocument['role'];

const userUrl = (name: string) => `/api/users/${encodeURIComponent(name)}`;

export const listUsers = async () => (await api<{ users: UserDocument[] }>('/api/users')).users;

export const addUser = (input: { name: string; role: Role; password: string }) =>
  api<UserDocument>('/api/users', { method: 'POST', body: JSON.stringify(input) });

export const setRole = (name: string, role: Role) =>
  api<UserDocument>(userUrl(name), { method: 'PATCH', body: JSON.stringify({ role }) });

export const setPassword = (name: string, password: string) =>
  api<UserDocument>(`${userUrl(name)}/password`, { method: 'PUT', body: JSON.stringify({ password }) });

export const removeUser = (name: string) => api<undefined>(userUrl(name), { method: 'DELETE' });

/** Both rights false takes the grant away (the user's live views of it end within a second). */
export const setGrant = (name: string, camera: string, rights: { live: boolean; recordings: boolean }) =>
  api<UserDocument>(`${userUrl(name)}/grants/${encodeURIComponent(camera)}`, {
    method: 'PUT',
    body: JSON.stringify(rights),
  });

/** Whether the signed-in principal may manage cameras and users (an admin not limited to reading or to cameras). */
export function isAdmin(): boolean {
  const who = me.value;
  return Boolean(who && who.role === 'admin' && !who.readOnly && who.cameras === null);
}

/** What a user's row says about its cameras. */
export function grantsText(user: UserDocument): string {
  if (user.role === 'admin') return 'every camera';
  const parts = user.grants.map(
    (g) =>
      `${g.camera} (${[g.live ? 'live' : '', g.recordings ? 'recordings' : ''].filter(Boolean).join(', ')})`,
  );
  return parts.length === 0 ? 'none yet' : parts.join('; ');
}
