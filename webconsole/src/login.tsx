// The login page: user and password, the API's coded error shown as text.
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../../core/api/contract/pure/types';
import { ApiError, login } from './api';

export function Login(props: { onLogin: (s: SessionInfo) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = (ev: Event): void => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    login(user, password).then(
      (s) => props.onLogin(s),
      (e: unknown) => {
        setBusy(false);
        setError(e instanceof ApiError ? `${e.message} (${e.code})` : String(e));
      },
    );
  };

  return (
    <main id="main" class="login">
      <h1>hakit console</h1>
      <form onSubmit={submit} aria-describedby={error ? 'login-error' : undefined}>
        <label for="user">User</label>
        <input id="user" name="user" autocomplete="username" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        {error && (
          <p id="login-error" class="error" role="alert">
            ✖ {error}
          </p>
        )}
      </form>
    </main>
  );
}
