import { useEffect, useState } from 'preact/hooks';
import { ApiError, me, setupCode, setupOpen, signIn, signOut } from '../api.js';
import { SetupForm } from './SetupForm.js';

/**
 * Sign-in (user name and password → the session cookie) while signed out; once signed in,
 * who is signed in, with which role, and a sign-out button. `onChange` runs after either.
 */
export function SignIn({ onChange }: { onChange: () => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [noUsers, setNoUsers] = useState(false);
  const who = me.value;
  const code = setupCode();
  useEffect(() => {
    if (who === null && !code) void setupOpen().then(setNoUsers);
  }, [who, code]);
  if (who === undefined) return null;
  if (!who && code) return <SetupForm code={code} onDone={onChange} />;
  if (who) {
    return (
      <section id="account" class="row">
        <span>
          Signed in as <strong id="who">{who.name}</strong>{' '}
          <span class="muted">
            ({who.role}
            {who.readOnly ? ', read-only' : ''})
          </span>
        </span>
        <button
          id="sign-out"
          type="button"
          onClick={async () => {
            await signOut();
            onChange();
          }}
        >
          Sign out
        </button>
      </section>
    );
  }
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError('');
    try {
      await signIn(String(data.get('username') ?? ''), String(data.get('password') ?? ''));
      form.reset();
      onChange();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'Wrong user name or password.'
          : err instanceof ApiError && err.status === 429
            ? 'Too many failed attempts: wait a moment and try again.'
            : `Cannot sign in: ${(err as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <section id="login">
      <form onSubmit={submit}>
        <div class="row">
          <label>
            User name <input id="username" name="username" autocomplete="username" required maxLength={64} />
          </label>
          <label>
            Password{' '}
            <input id="password" name="password" type="password" autocomplete="current-password" required />
          </label>
          <button id="sign-in" type="submit" disabled={busy}>
            Sign in
          </button>
        </div>
        <p id="sign-in-error" class="muted" role="alert">
          {error}
        </p>
        {noUsers ? (
          <p id="no-users" class="muted">
            This server has no users yet: open the setup link it printed when it started (or run{' '}
            <code>lookout user add &lt;name&gt; --admin</code>).
          </p>
        ) : (
          <p class="muted">No account yet? An admin adds you under Users.</p>
        )}
      </form>
    </section>
  );
}
