import { useState } from 'preact/hooks';
import { ApiError, createFirstAdmin } from '../api.js';

/**
 * First run (D38): the link the server printed carries a one-time code; with it the first admin
 * is created here and signed in. `onDone` runs after.
 */
export function SetupForm({ code, onDone }: { code: string; onDone: () => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const password = String(data.get('password') ?? '');
    if (password !== String(data.get('again') ?? '')) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      await createFirstAdmin(code, String(data.get('username') ?? '').trim(), password);
      onDone();
    } catch (err) {
      const code = err instanceof ApiError ? err.problem?.code : undefined;
      setError(
        code === 'SETUP_CLOSED'
          ? 'This server has users already: sign in instead (reload without the setup link).'
          : code === 'SETUP_CODE_INVALID'
            ? 'This setup link is not the one the server printed at its last start.'
            : `Cannot create the admin: ${(err as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <section id="setup" aria-labelledby="setup-title">
      <h2 id="setup-title">Create the first admin</h2>
      <p class="muted">
        This server has no users yet. The admin you create here manages cameras and users; the setup link
        works only until then.
      </p>
      <form class="stack" onSubmit={(e) => void submit(e)}>
        <label>
          User name
          <input id="setup-username" name="username" autocomplete="username" required maxLength={64} />
        </label>
        <label>
          Password <span class="muted">(8 characters or more)</span>
          <input
            id="setup-password"
            name="password"
            type="password"
            autocomplete="new-password"
            required
            minLength={8}
            maxLength={1024}
          />
        </label>
        <label>
          Password again
          <input
            id="setup-again"
            name="again"
            type="password"
            autocomplete="new-password"
            required
            minLength={8}
            maxLength={1024}
          />
        </label>
        <div class="toolbar">
          <button id="setup-submit" type="submit" disabled={busy}>
            Create admin and sign in
          </button>
        </div>
        <p id="setup-error" class="error" role="alert">
          {error}
        </p>
      </form>
    </section>
  );
}
