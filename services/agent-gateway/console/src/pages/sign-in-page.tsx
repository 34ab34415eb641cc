import { useState, type FormEvent } from 'react';
import { api, setToken } from '../api';
import { ErrorBanner, Field, useAction } from '../components/common';
import type { LoginResult, MeView } from '../types';

/** Email and password -> a short-lived token (POST /v1/auth/login), then who the user is (/v1/me). */
export function SignInPage({ onSignedIn, notice }: { onSignedIn: (me: MeView) => void; notice?: unknown }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const result = await api<LoginResult>('/v1/auth/login', {
        body: { email, password },
        headlines: { 401: 'Sign-in failed', 429: 'Too many attempts' },
      });
      setToken(result.accessToken);
      const me = await api<MeView>('/v1/me');
      setPassword('');
      onSignedIn(me);
    });
  };

  return (
    <div className="signin">
      <form className="card form signin-card" onSubmit={submit}>
        <h1>HishamOS</h1>
        <p className="muted">Sign in to the admin console.</p>
        <ErrorBanner error={error ?? notice} />
        <Field label="Email">
          <input
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </Field>
        <Field label="Password">
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </div>
  );
}
