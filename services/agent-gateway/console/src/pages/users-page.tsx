import { useState, type FormEvent } from 'react';
import { api, money } from '../api';
import {
  Badge,
  ErrorBanner,
  Field,
  Loading,
  Notice,
  Toggle,
  useAction,
  useCursor,
  useLoad,
} from '../components/common';
import { href, navigate, type Route } from '../router';
import { useSession } from '../session';
import {
  ROLES,
  type AgentAccessView,
  type CatalogAgent,
  type Page,
  type Role,
  type UserSpend,
  type UserView,
} from '../types';

/**
 * User Permissions (seed 3.2): a grid of users against roles, each user's agent toggles
 * ("can use the legal agent?") and daily budget.
 */
export function UsersPage({ route }: { route: Route }) {
  const [q, setQ] = useState(route.query.get('q') ?? '');
  const search = route.query.get('q') ?? '';
  const selected = route.query.get('user');
  const { cursor, controls } = useCursor(search);
  const users = useLoad(
    (signal) => api<Page<UserView>>('/v1/users', { query: { q: search, cursor, limit: 20 }, signal }),
    [search, cursor],
  );
  const [creating, setCreating] = useState(false);
  const actions = useAction();
  const { me, refreshMe } = useSession();

  const setRoles = (user: UserView, role: Role, on: boolean) => {
    const roles = on ? [...user.roles, role] : user.roles.filter((r) => r !== role);
    void actions.run(async () => {
      const updated = await api<UserView>(`/v1/users/${user.id}/roles`, { method: 'PUT', body: { roles } });
      users.setData((page) => page && { ...page, data: page.data.map((u) => (u.id === updated.id ? updated : u)) });
      if (user.id === me.identity.subject) await refreshMe();
    });
  };

  const setStatus = (user: UserView, active: boolean) =>
    void actions.run(async () => {
      const updated = await api<UserView>(`/v1/users/${user.id}`, {
        method: 'PATCH',
        body: { status: active ? 'active' : 'disabled' },
      });
      users.setData((page) => page && { ...page, data: page.data.map((u) => (u.id === updated.id ? updated : u)) });
    });

  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    navigate(href(['users'], { q: q.trim() }));
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>User Permissions</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Add user
        </button>
      </div>
      <form className="inline-form" onSubmit={onSearch} role="search">
        <input
          name="q"
          type="search"
          placeholder="Search by email or name"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          aria-label="Search users"
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBanner error={users.error ?? actions.error} onDismiss={() => actions.setError(null)} />
      {creating && (
        <CreateUserForm
          onDone={(created) => {
            setCreating(false);
            if (created) {
              users.reload();
              navigate(href(['users'], { q: search, user: created.id }));
            }
          }}
        />
      )}
      {users.loading && !users.data ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table grid-table" data-testid="users-grid">
            <thead>
              <tr>
                <th>User</th>
                {ROLES.map((r) => (
                  <th key={r} className="center">
                    {r}
                  </th>
                ))}
                <th>Active</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(users.data?.data ?? []).map((u) => (
                <tr key={u.id} data-user={u.email} className={selected === u.id ? 'selected' : ''}>
                  <td data-label="User">
                    <strong>{u.name}</strong>
                    <div className="muted small">{u.email}</div>
                  </td>
                  {ROLES.map((r) => (
                    <td key={r} data-label={r} className="center">
                      <input
                        type="checkbox"
                        aria-label={`${u.email} ${r}`}
                        checked={u.roles.includes(r)}
                        disabled={actions.busy || u.status === 'deleted'}
                        onChange={(e) => setRoles(u, r, e.target.checked)}
                      />
                    </td>
                  ))}
                  <td data-label="Active">
                    <Toggle
                      checked={u.status === 'active'}
                      label={`${u.email} active`}
                      disabled={u.status === 'deleted'}
                      onChange={(active) => setStatus(u, active)}
                    />
                  </td>
                  <td className="row-actions">
                    <a
                      className="button"
                      href={
                        selected === u.id ? href(['users'], { q: search }) : href(['users'], { q: search, user: u.id })
                      }
                    >
                      {selected === u.id ? 'Close' : 'Agents & budget'}
                    </a>
                  </td>
                </tr>
              ))}
              {users.data?.data.length === 0 && (
                <tr>
                  <td colSpan={7} className="muted">
                    No users match.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          {controls(users.data?.nextCursor)}
        </div>
      )}
      {selected && <UserPanel key={selected} userId={selected} />}
    </div>
  );
}

function CreateUserForm({ onDone }: { onDone: (created?: UserView) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Role[]>(['member']);
  const [budget, setBudget] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const body: Record<string, unknown> = { email, name, roles };
      if (password) body.password = password;
      if (budget.trim()) body.dailyBudgetUsd = budget.trim();
      onDone(await api<UserView>('/v1/users', { body }));
    });
  };
  return (
    <form className="card form" onSubmit={submit} data-testid="create-user-form">
      <h2>Add a user</h2>
      <ErrorBanner error={error} />
      <div className="grid-2">
        <Field label="Email">
          <input name="email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field label="Name">
          <input name="name" required value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Console password" hint="At least 12 characters; empty for API-key-only users">
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <Field label="Daily budget (USD)" hint="Optional hard limit per day, e.g. 25.00">
          <input name="dailyBudgetUsd" inputMode="decimal" value={budget} onChange={(e) => setBudget(e.target.value)} />
        </Field>
      </div>
      <fieldset className="roles">
        <legend>Roles</legend>
        {ROLES.map((r) => (
          <label key={r} className="checkbox">
            <input
              type="checkbox"
              checked={roles.includes(r)}
              onChange={(e) => setRoles((rs) => (e.target.checked ? [...rs, r] : rs.filter((x) => x !== r)))}
            />{' '}
            {r}
          </label>
        ))}
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create user'}
        </button>
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** One user's agent toggles and daily budget. */
function UserPanel({ userId }: { userId: string }) {
  const user = useLoad((signal) => api<UserView>(`/v1/users/${userId}`, { signal }), [userId]);
  const access = useLoad((signal) => api<AgentAccessView>(`/v1/users/${userId}/agents`, { signal }), [userId]);
  const agents = useLoad((signal) => api<{ data: CatalogAgent[] }>('/v1/agents', { signal }), []);
  const spend = useLoad((signal) => api<UserSpend>(`/v1/spend/users/${userId}`, { signal }), [userId]);
  const actions = useAction();
  const [budget, setBudget] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const names = new Map((agents.data?.data ?? []).map((a) => [a.slug, a.name]));

  const putAgents = (body: Record<string, unknown>) =>
    void actions.run(async () => {
      access.setData(await api<AgentAccessView>(`/v1/users/${userId}/agents`, { method: 'PUT', body }));
    });

  const saveBudget = (e: FormEvent) => {
    e.preventDefault();
    void actions.run(async () => {
      await api(`/v1/users/${userId}`, { method: 'PATCH', body: { dailyBudgetUsd: budget.trim() } });
      setSaved(`Daily budget set to ${money(budget.trim())}.`);
      setBudget('');
      spend.reload();
    });
  };

  if (user.error) return <ErrorBanner error={user.error} />;
  if (!user.data) return <Loading />;
  const u = user.data;
  const view = access.data;
  const day = spend.data?.day;
  return (
    <section className="card user-panel" data-testid="user-panel">
      <h2>
        {u.name} <span className="muted small">{u.email}</span>
      </h2>
      <ErrorBanner error={actions.error ?? access.error} onDismiss={() => actions.setError(null)} />
      {saved && <Notice>{saved}</Notice>}
      <div className="grid-2">
        <div>
          <h3>Agents</h3>
          {!view ? (
            <Loading />
          ) : (
            <>
              {view.decidedByRole === 'admin' && (
                <Notice kind="info">Admins may use every agent; the toggles apply if the admin role is removed.</Notice>
              )}
              {view.decidedByRole === 'viewer' && (
                <Notice kind="info">Viewers cannot run agents; the toggles apply with another role.</Notice>
              )}
              <Field label="Agents without a toggle">
                <select
                  name="defaultAgentAccess"
                  value={view.defaultAgentAccess}
                  onChange={(e) => putAgents({ defaultAgentAccess: e.target.value })}
                >
                  <option value="all">allowed</option>
                  <option value="none">not allowed</option>
                </select>
              </Field>
              <ul className="toggle-list" data-testid="agent-toggles">
                {view.agents.map((a) => (
                  <li key={a.slug} data-agent={a.slug}>
                    <Toggle
                      checked={a.toggle ?? view.defaultAgentAccess === 'all'}
                      label={`Can use ${names.get(a.slug) ?? a.slug}?`}
                      disabled={actions.busy}
                      onChange={(allowed) => putAgents({ agents: [{ slug: a.slug, allowed }] })}
                    />
                    <span className="toggle-name">{names.get(a.slug) ?? a.slug}</span>
                    {a.toggle === null ? (
                      <span className="muted small">default</span>
                    ) : (
                      <button type="button" className="link small" onClick={() => putAgents({ reset: [a.slug] })}>
                        reset
                      </button>
                    )}
                    <Badge value={a.allowed ? 'allowed' : 'denied'} />
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
        <div>
          <h3>Daily budget</h3>
          <ErrorBanner error={spend.error} />
          {day && (
            <dl className="facts" data-testid="user-spend">
              <dt>Spent today</dt>
              <dd>{money(day.spentUsd)}</dd>
              <dt>Reserved</dt>
              <dd>{money(day.reservedUsd)}</dd>
              <dt>Soft limit</dt>
              <dd>{money(day.softUsd)}</dd>
              <dt>Hard limit</dt>
              <dd data-testid="daily-hard-limit">{money(day.hardUsd)}</dd>
              <dt>Requests today</dt>
              <dd>{day.requests}</dd>
            </dl>
          )}
          <form className="inline-form" onSubmit={saveBudget}>
            <input
              name="dailyBudgetUsd"
              inputMode="decimal"
              placeholder="e.g. 25.00"
              aria-label="Daily budget in US dollars"
              value={budget}
              onChange={(e) => setBudget(e.target.value)}
            />
            <button type="submit" disabled={actions.busy || !budget.trim()}>
              Set daily budget
            </button>
          </form>
          <p className="muted small">
            Soft limits and other periods: <a href={href(['tokens'], { user: userId })}>Token Management</a>.
          </p>
        </div>
      </div>
    </section>
  );
}
