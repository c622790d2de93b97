import { useEffect, useState } from 'preact/hooks';
import type { UserDocument } from '../../../http-contract/index.js';
import { me } from '../api.js';
import { grantsText, listUsers } from '../user-admin.js';
import { AddUserForm } from './AddUserForm.js';
import { ManageUser } from './ManageUser.js';

/** The Users screen (admins): who may sign in, with which role and cameras; add, change, remove (D38). */
export function UserManager() {
  const [users, setUsers] = useState<UserDocument[] | undefined>(undefined);
  const [selected, setSelected] = useState('');
  const [status, setStatus] = useState('');
  const load = () =>
    listUsers().then(
      (list) => setUsers(list),
      (err: Error) => setStatus(`Cannot list users: ${err.message}`),
    );
  useEffect(() => void load(), []);
  const replace = (user: UserDocument) =>
    setUsers((list) => {
      const others = (list ?? []).filter((u) => u.name !== user.name);
      return [...others, user].sort((a, b) => (a.name < b.name ? -1 : 1));
    });
  const user = users?.find((u) => u.name === selected);
  const who = me.value?.user;
  return (
    <section aria-labelledby="users-title" class="manage" id="users">
      <h2 id="users-title">Users</h2>
      <table id="users-table" hidden={!users}>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Cameras</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users ?? []).map((u) => (
            <tr key={u.name} data-user={u.name}>
              <td>
                <strong>{u.name}</strong>
                {u.name === who ? ' (you)' : ''}{' '}
                <span class="muted" data-role={u.role}>
                  {u.role}
                </span>
              </td>
              <td data-grants="">{grantsText(u)}</td>
              <td class="actions">
                <button
                  type="button"
                  data-manage-user={u.name}
                  aria-label={`Manage ${u.name}`}
                  aria-pressed={u.name === selected}
                  onClick={() => {
                    setSelected(u.name);
                    setStatus('');
                  }}
                >
                  Manage
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p id="users-status" role="status" class="muted">
        {status}
      </p>
      {user && (
        <ManageUser
          key={user.name}
          user={user}
          onChanged={replace}
          onRemoved={(message) => {
            setSelected('');
            setStatus(message);
            void load();
          }}
        />
      )}
      <AddUserForm
        onAdded={(added) => {
          replace(added);
          setSelected(added.name);
          setStatus(`Added ${added.name} (${added.role}).`);
        }}
      />
    </section>
  );
}
