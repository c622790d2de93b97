import { useState } from 'preact/hooks';
import type { UserDocument } from '../../../http-contract/index.js';
import { addUser, type Role } from '../user-admin.js';

/** Adds a user: name, role, initial password (the admin tells it to the person). */
export function AddUserForm({ onAdded }: { onAdded(user: UserDocument): void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError('');
    try {
      const user = await addUser({
        name: String(data.get('name') ?? '').trim(),
        role: String(data.get('role')) as Role,
        password: String(data.get('password') ?? ''),
      });
      form.reset();
      onAdded(user);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form id="add-user" class="stack" onSubmit={(e) => void submit(e)}>
      <h3>Add a user</h3>
      <label>
        User name <span class="muted">(letters, digits, . _ - @)</span>
        <input
          id="new-user-name"
          name="name"
          required
          maxLength={64}
          autocomplete="off"
          pattern="[A-Za-z0-9][A-Za-z0-9._@\-]*"
        />
      </label>
      <label>
        Role
        <select id="new-user-role" name="role">
          <option value="viewer">viewer (the cameras granted)</option>
          <option value="admin">admin (everything)</option>
        </select>
      </label>
      <label>
        Initial password <span class="muted">(8 characters or more)</span>
        <input
          id="new-user-password"
          name="password"
          type="password"
          required
          minLength={8}
          maxLength={1024}
          autocomplete="new-password"
        />
      </label>
      <div class="toolbar">
        <button id="new-user-submit" type="submit" disabled={busy}>
          Add user
        </button>
        <span id="new-user-error" class="error" role="alert">
          {error}
        </span>
      </div>
    </form>
  );
}
