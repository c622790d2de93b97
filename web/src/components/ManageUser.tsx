import { useState } from 'preact/hooks';
import type { UserDocument } from '../../../http-contract/index.js';
import { me } from '../api.js';
import { type Role, removeUser, setGrant, setPassword, setRole } from '../user-admin.js';
import { RemoveUserDialog } from './RemoveUserDialog.js';
import { UserGrants } from './UserGrants.js';

interface Props {
  user: UserDocument;
  /** The user as the server answered after a change. */
  onChanged(user: UserDocument): void;
  onRemoved(message: string): void;
}

/** One user: role, a new password, camera grants, remove. The server refuses what the rules forbid, with a reason. */
export function ManageUser({ user, onChanged, onRemoved }: Props) {
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [confirming, setConfirming] = useState(false);
  const self = me.value?.user === user.name;
  const run = async (work: () => Promise<string>) => {
    setError('');
    setMessage('');
    try {
      setMessage(await work());
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const name = user.name;
  return (
    <div id="manage-user" data-user={name} class="stack">
      <h3>
        {name}
        {self ? ' (you)' : ''}
      </h3>
      <div class="toolbar">
        <label>
          Role
          <select
            id="user-role"
            value={user.role}
            onChange={(e) => {
              const select = e.currentTarget;
              const role = select.value as Role;
              void run(async () => {
                try {
                  const changed = await setRole(name, role);
                  onChanged(changed);
                  return `${name} is now ${changed.role === 'admin' ? 'an admin' : 'a viewer'}.`;
                } catch (err) {
                  select.value = user.role; // refused (the last admin): show the role it still has
                  throw err;
                }
              });
            }}
          >
            <option value="viewer">viewer</option>
            <option value="admin">admin</option>
          </select>
        </label>
      </div>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const password = String(new FormData(form).get('password') ?? '');
          void run(async () => {
            onChanged(await setPassword(name, password));
            form.reset();
            return self
              ? 'Password changed; your other sessions are signed out.'
              : `Password changed; ${name} is signed out everywhere.`;
          });
        }}
      >
        <label>
          New password
          <input
            id="user-password"
            name="password"
            type="password"
            required
            minLength={8}
            maxLength={1024}
            autocomplete="new-password"
          />
        </label>
        <button id="user-password-save" type="submit">
          Set password
        </button>
      </form>
      <UserGrants
        user={user}
        onChange={(camera, rights) =>
          run(async () => {
            onChanged(await setGrant(name, camera, rights));
            const what = [rights.live ? 'live' : '', rights.recordings ? 'recordings' : ''].filter(Boolean);
            return what.length
              ? `${name} may see ${camera}: ${what.join(' and ')}.`
              : `${name} may no longer see ${camera}.`;
          })
        }
      />
      <div class="toolbar">
        <button
          id="user-remove"
          type="button"
          class="danger"
          disabled={self}
          title={self ? 'you cannot remove yourself: another admin can' : undefined}
          onClick={() => setConfirming(true)}
        >
          Remove user…
        </button>
        {self && <span class="muted">You cannot remove yourself; another admin can.</span>}
      </div>
      <p id="manage-user-status" role="status" class="muted">
        {message}
      </p>
      <p id="manage-user-error" role="alert" class="error">
        {error}
      </p>
      {confirming && (
        <RemoveUserDialog
          name={name}
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            removeUser(name).then(
              () => onRemoved(`Removed ${name}; their sessions have ended.`),
              (err: Error) => setError(err.message),
            );
          }}
        />
      )}
    </div>
  );
}
