import { useCallback, useEffect, useState } from 'react';
import { api, getToken, onSignedOut, setToken } from './api';
import { ErrorBanner, Loading } from './components/common';
import { AgentsPage } from './pages/agents-page';
import { AlertsPage } from './pages/alerts-page';
import { ProvidersPage } from './pages/providers-page';
import { RunsPage } from './pages/runs-page';
import { SignInPage } from './pages/sign-in-page';
import { TokensPage } from './pages/tokens-page';
import { UsersPage } from './pages/users-page';
import { navigate, useRoute } from './router';
import { hasRole, mayOpen, SessionContext, type PageId } from './session';
import type { MeView } from './types';

const NAV: { page: PageId; label: string; href: string }[] = [
  { page: 'providers', label: 'Platform Configuration', href: '#/providers' },
  { page: 'users', label: 'User Permissions', href: '#/users' },
  { page: 'tokens', label: 'Token Management', href: '#/tokens' },
  { page: 'runs', label: 'Runs', href: '#/runs' },
  { page: 'agents', label: 'Agents', href: '#/agents' },
  { page: 'alerts', label: 'Alerts', href: '#/alerts' },
];

export function App() {
  const [me, setMe] = useState<MeView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [checking, setChecking] = useState(() => getToken() !== null);

  const refreshMe = useCallback(async () => {
    setMe(await api<MeView>('/v1/me'));
  }, []);

  useEffect(() => {
    if (!getToken()) return;
    refreshMe()
      .catch((e: unknown) => {
        setToken(null);
        setError(e);
      })
      .finally(() => setChecking(false));
  }, [refreshMe]);

  useEffect(
    () =>
      onSignedOut(() => {
        setMe(null);
        setError(new Error('Your session ended: sign in again.'));
      }),
    [],
  );

  const signOut = useCallback(() => {
    setToken(null);
    setMe(null);
    navigate('#/');
  }, []);

  if (checking) return <Loading what="Checking your session" />;
  if (!me)
    return (
      <SignInPage
        notice={error}
        onSignedIn={(view) => {
          setError(null);
          setMe(view);
        }}
      />
    );
  return (
    <SessionContext.Provider value={{ me, signOut, refreshMe }}>
      <Shell me={me} signOut={signOut} />
    </SessionContext.Provider>
  );
}

function Shell({ me, signOut }: { me: MeView; signOut: () => void }) {
  const route = useRoute();
  const [menuOpen, setMenuOpen] = useState(false);
  const [unread, setUnread] = useState<number | null>(null);
  const nav = NAV.filter((n) => mayOpen(me, n.page));
  const alertsVisible = mayOpen(me, 'alerts');
  const page = route.path[0] ?? '';

  useEffect(() => setMenuOpen(false), [route.raw]);

  useEffect(() => {
    let stopped = false;
    const poll = () =>
      api<{ unreadCount: number }>('/v1/notifications', { query: { unread: true, limit: 1 } })
        .then((r) => !stopped && setUnread(r.unreadCount))
        .catch(() => !stopped && setUnread(null));
    poll();
    const timer = setInterval(poll, 30_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [route.raw]);

  // The landing page follows the role: admins start at Platform Configuration, others at their runs.
  useEffect(() => {
    if (!page) navigate(hasRole(me, 'admin') ? '#/providers' : '#/runs');
  }, [page, me]);

  const who = me.user?.email ?? me.identity.name ?? me.identity.subject;
  let content;
  const allowed = (p: PageId) => mayOpen(me, p);
  switch (page) {
    case 'providers':
      content = allowed('providers') ? <ProvidersPage /> : <Forbidden />;
      break;
    case 'users':
      content = allowed('users') ? <UsersPage route={route} /> : <Forbidden />;
      break;
    case 'tokens':
      content = <TokensPage route={route} />;
      break;
    case 'runs':
      content = <RunsPage route={route} />;
      break;
    case 'agents':
      content = <AgentsPage route={route} />;
      break;
    case 'alerts':
      content = <AlertsPage route={route} />;
      break;
    case '':
      content = <Loading />;
      break;
    default:
      content = <ErrorBanner error={new Error(`There is no page "${page}".`)} />;
  }

  return (
    <div className="shell">
      <header className="topbar">
        <button
          type="button"
          className="menu-button"
          aria-label="Menu"
          aria-expanded={menuOpen}
          onClick={() => setMenuOpen((o) => !o)}
        >
          ☰
        </button>
        <a className="brand" href="#/">
          HishamOS
        </a>
        <div className="topbar-right">
          <a className="bell" href="#/alerts?tab=notifications" title="Notifications" data-testid="notifications-link">
            <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
              <path
                fill="currentColor"
                d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
              />
            </svg>
            <span className="sr-only">Notifications</span>
            {unread ? <span className="count">{unread}</span> : null}
          </a>
          <span className="who" data-testid="who">
            {who} <span className="muted">({me.identity.roles.join(', ')})</span>
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <nav className={`sidenav ${menuOpen ? 'open' : ''}`} aria-label="Main">
        {nav.map((n) => (
          <a key={n.page} href={n.href} className={page === n.page ? 'active' : ''}>
            {n.label}
          </a>
        ))}
        {!alertsVisible && (
          <a href="#/alerts?tab=notifications" className={page === 'alerts' ? 'active' : ''}>
            Notifications
          </a>
        )}
      </nav>
      <main className="content">{content}</main>
    </div>
  );
}

function Forbidden() {
  return <ErrorBanner error={new Error('This page is for administrators. Your role does not include it.')} />;
}
