import { useMemo, useState, type FormEvent } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { addUsd, api, money } from '../api';
import { Badge, ErrorBanner, Field, Loading, Notice, useAction, useLoad, usePaged } from '../components/common';
import { href, navigate, type Route } from '../router';
import { hasRole, useSession } from '../session';
import type { BudgetView, Page, UsageQueryResult, UsageRow, UserSpend, UserView } from '../types';

const PALETTE = [
  '#2563eb',
  '#16a34a',
  '#dc2626',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4f46e5',
  '#65a30d',
  '#0d9488',
  '#b91c1c',
  '#7c3aed',
  '#c2410c',
  '#0369a1',
];
const MAX_SERIES = 8;

type Metric = 'cost' | 'tokens';

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function valueOf(row: UsageRow, metric: Metric): number {
  return metric === 'cost' ? Number(row.costUsd) : row.inputTokens + row.outputTokens;
}

/** Rows grouped by day and one dimension -> one chart point per day with a value per series (top N, then "other"). */
function pivot(rows: UsageRow[], dim: 'agent' | 'user', metric: Metric, days: string[], label: (k: string) => string) {
  const totals = new Map<string, number>();
  const exactCost = new Map<string, string>();
  for (const r of rows) {
    const k = r[dim] ?? '(none)';
    totals.set(k, (totals.get(k) ?? 0) + valueOf(r, metric));
    exactCost.set(k, addUsd(exactCost.get(k), r.costUsd));
  }
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const top = ranked.slice(0, MAX_SERIES);
  const series = top.map(label);
  const hasOther = ranked.length > MAX_SERIES;
  if (hasOther) series.push('other');
  const byDay = new Map<string, Record<string, number | string>>(days.map((d) => [d, { day: d.slice(5) }]));
  for (const r of rows) {
    const point = byDay.get(r.day ?? '');
    if (!point) continue;
    const k = r[dim] ?? '(none)';
    const name = top.includes(k) ? label(k) : 'other';
    point[name] = ((point[name] as number | undefined) ?? 0) + valueOf(r, metric);
  }
  return {
    data: [...byDay.values()],
    series,
    totals: ranked.map((k) => ({ key: k, name: label(k), value: totals.get(k)!, costUsd: exactCost.get(k)! })),
  };
}

function formatValue(metric: Metric, v: number): string {
  if (metric === 'tokens') return Math.round(v).toLocaleString();
  return `$${v !== 0 && Math.abs(v) < 0.01 ? v.toFixed(4) : v.toFixed(2)}`;
}

/**
 * Token Management (seed 3.3): cost and tokens per agent and per user over time, spend today against
 * the soft and hard limits, and the limits themselves (admins set them).
 */
export function TokensPage({ route }: { route: Route }) {
  const { me } = useSession();
  const staff = hasRole(me, 'admin', 'operator');
  const admin = hasRole(me, 'admin');
  const range = Number(route.query.get('days') ?? '30') || 30;
  const metric: Metric = route.query.get('metric') === 'tokens' ? 'tokens' : 'cost';
  const userFilter = staff ? (route.query.get('user') ?? '') : '';
  const spendUser = userFilter || me.identity.subject;
  const set = (k: string, v: string | number) =>
    navigate(href(['tokens'], { days: range, metric, user: userFilter, [k]: v }));

  const days = useMemo(() => {
    const out: string[] = [];
    const now = new Date();
    for (let i = range - 1; i >= 0; i--) out.push(isoDay(new Date(now.getTime() - i * 86_400_000)));
    return out;
  }, [range]);
  const from = days[0];
  const to = days[days.length - 1];

  const users = useLoad(
    (signal) =>
      staff && admin
        ? api<Page<UserView>>('/v1/users', { query: { limit: 200 }, signal })
        : Promise.resolve({ data: [] as UserView[], nextCursor: null }),
    [staff, admin],
  );
  const userName = useMemo(() => {
    const m = new Map((users.data?.data ?? []).map((u) => [u.id, u.email]));
    m.set(me.identity.subject, me.user?.email ?? 'you');
    return (id: string) => m.get(id) ?? id.slice(0, 8);
  }, [users.data, me]);

  const byAgent = useLoad(
    (signal) =>
      api<UsageQueryResult>('/v1/usage', {
        query: { groupBy: 'day,agent', from, to, userId: userFilter || undefined },
        signal,
      }),
    [from, to, userFilter],
  );
  const byUser = useLoad(
    (signal) =>
      staff
        ? api<UsageQueryResult>('/v1/usage', { query: { groupBy: 'day,user', from, to }, signal })
        : Promise.resolve(undefined),
    [from, to, staff],
  );
  const spend = useLoad((signal) => api<UserSpend>(`/v1/spend/users/${spendUser}`, { signal }), [spendUser]);

  const agentChart = useMemo(
    () => pivot(byAgent.data?.rows ?? [], 'agent', metric, days, (k) => k),
    [byAgent.data, metric, days],
  );
  const userChart = useMemo(
    () => pivot(byUser.data?.rows ?? [], 'user', metric, days, userName),
    [byUser.data, metric, days, userName],
  );
  const day = spend.data?.day;
  const soft = metric === 'cost' && day?.softUsd ? Number(day.softUsd) : undefined;
  const hard = metric === 'cost' && day?.hardUsd ? Number(day.hardUsd) : undefined;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Token Management</h1>
      </div>
      <div className="toolbar">
        <Field label="Period">
          <select name="days" value={range} onChange={(e) => set('days', e.target.value)}>
            <option value={7}>Last 7 days</option>
            <option value={30}>Last 30 days</option>
            <option value={90}>Last 90 days</option>
          </select>
        </Field>
        <Field label="Show">
          <select name="metric" value={metric} onChange={(e) => set('metric', e.target.value)}>
            <option value="cost">Cost (USD)</option>
            <option value="tokens">Tokens</option>
          </select>
        </Field>
        {staff && (
          <Field label="User">
            <UserPicker users={users.data?.data ?? []} value={userFilter} onChange={(v) => set('user', v)} all />
          </Field>
        )}
      </div>

      <SpendToday spend={spend.data} error={spend.error} who={userName(spendUser)} />

      <section className="card">
        <h2>{metric === 'cost' ? 'Cost' : 'Tokens'} per agent</h2>
        <p className="muted small">
          {userFilter ? `For ${userName(userFilter)}; ` : staff ? 'Everyone; ' : 'Your usage; '}
          {from} to {to} ({byAgent.data?.timeZone ?? 'UTC'}).
          {metric === 'cost' && (soft !== undefined || hard !== undefined)
            ? ` Lines: ${userName(spendUser)}'s daily limits.`
            : ''}
        </p>
        <ErrorBanner error={byAgent.error} />
        {byAgent.loading && !byAgent.data ? (
          <Loading />
        ) : (
          <UsageChart
            testId="chart-agents"
            data={agentChart.data}
            series={agentChart.series}
            metric={metric}
            soft={soft}
            hard={hard}
          />
        )}
        <TotalsTable totals={agentChart.totals} metric={metric} what="Agent" totalsRow={byAgent.data?.totals} />
      </section>

      {staff && (
        <section className="card">
          <h2>{metric === 'cost' ? 'Cost' : 'Tokens'} per user</h2>
          <ErrorBanner error={byUser.error} />
          {byUser.loading && !byUser.data ? (
            <Loading />
          ) : (
            <UsageChart testId="chart-users" data={userChart.data} series={userChart.series} metric={metric} />
          )}
          <TotalsTable totals={userChart.totals} metric={metric} what="User" totalsRow={byUser.data?.totals} />
        </section>
      )}

      <Budgets
        admin={admin}
        staff={staff}
        users={users.data?.data ?? []}
        userName={userName}
        defaultUser={spendUser}
        onChange={() => spend.reload()}
      />
    </div>
  );
}

function UserPicker({
  users,
  value,
  onChange,
  all,
}: {
  users: UserView[];
  value: string;
  onChange: (id: string) => void;
  all?: boolean;
}) {
  return (
    <select name="user" value={value} onChange={(e) => onChange(e.target.value)}>
      {all && <option value="">Everyone</option>}
      {!all && <option value="">Choose a user…</option>}
      {users.map((u) => (
        <option key={u.id} value={u.id}>
          {u.email}
        </option>
      ))}
    </select>
  );
}

function UsageChart({
  data,
  series,
  metric,
  soft,
  hard,
  testId,
}: {
  data: Record<string, number | string>[];
  series: string[];
  metric: Metric;
  soft?: number;
  hard?: number;
  testId: string;
}) {
  const empty = series.length === 0;
  return (
    <div className="chart" data-testid={testId}>
      {empty && <p className="muted chart-empty">No usage in this period yet.</p>}
      <ResponsiveContainer width="100%" height={300}>
        <BarChart data={data} margin={{ top: 16, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" tick={{ fontSize: 12 }} minTickGap={12} />
          <YAxis
            tick={{ fontSize: 12 }}
            width={72}
            tickFormatter={(v: number) => formatValue(metric, v)}
            allowDecimals={metric === 'cost'}
            domain={
              soft !== undefined || hard !== undefined
                ? [0, (max: number) => Math.max(max, hard ?? 0, soft ?? 0) * 1.1]
                : [0, 'auto']
            }
          />
          <Tooltip formatter={(v) => formatValue(metric, Number(v))} />
          <Legend />
          {series.map((s, i) => (
            <Bar key={s} dataKey={s} stackId="usage" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
          ))}
          {soft !== undefined && (
            <ReferenceLine
              y={soft}
              stroke="#ca8a04"
              strokeDasharray="6 3"
              label={{ value: `soft ${formatLimit(soft)}`, position: 'insideTopLeft', fill: '#a16207', fontSize: 12 }}
            />
          )}
          {hard !== undefined && (
            <ReferenceLine
              y={hard}
              stroke="#dc2626"
              label={{ value: `hard ${formatLimit(hard)}`, position: 'insideTopRight', fill: '#b91c1c', fontSize: 12 }}
            />
          )}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function formatLimit(v: number): string {
  return `$${v.toFixed(2)}`;
}

function TotalsTable({
  totals,
  metric,
  what,
  totalsRow,
}: {
  totals: { key: string; name: string; value: number; costUsd: string }[];
  metric: Metric;
  what: string;
  totalsRow?: UsageQueryResult['totals'];
}) {
  const { items, pager } = usePaged(totals, 10, `${what}-${metric}`);
  if (!totals.length) return null;
  return (
    <div className="table-wrap">
      <table className="table compact">
        <thead>
          <tr>
            <th>{what}</th>
            <th className="num">{metric === 'cost' ? 'Cost' : 'Tokens'}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.key}>
              <td data-label={what}>{t.name}</td>
              <td data-label={metric} className="num">
                {metric === 'cost' ? money(t.costUsd) : formatValue(metric, t.value)}
              </td>
            </tr>
          ))}
        </tbody>
        {totalsRow && (
          <tfoot>
            <tr>
              <td>
                Total ({totalsRow.requests} requests
                {totalsRow.unpricedRequests ? `, ${totalsRow.unpricedRequests} unpriced` : ''})
              </td>
              <td className="num">
                {metric === 'cost'
                  ? money(totalsRow.costUsd)
                  : (totalsRow.inputTokens + totalsRow.outputTokens).toLocaleString()}
              </td>
            </tr>
          </tfoot>
        )}
      </table>
      {pager}
    </div>
  );
}

function percent(spent: string, limit?: string): number | null {
  if (!limit || Number(limit) <= 0) return null;
  return Math.min(100, Math.round((Number(spent) / Number(limit)) * 100));
}

/** Spend today (and this week and month) against the limits that apply. */
function SpendToday({ spend, error, who }: { spend?: UserSpend; error: unknown; who: string }) {
  return (
    <section className="card" data-testid="spend-today">
      <h2>Spend against limits</h2>
      <p className="muted small">
        {who}
        {spend ? ` · as of ${new Date(spend.asOf).toLocaleTimeString()} (${spend.timeZone})` : ''}
      </p>
      <ErrorBanner error={error} />
      {spend && (
        <div className="spend-grid">
          {(['day', 'week', 'month'] as const).map((p) => {
            const s = spend[p];
            const hardPct = percent(s.spentUsd, s.hardUsd);
            const softPct = percent(s.spentUsd, s.softUsd);
            const state =
              hardPct !== null && hardPct >= 100 ? 'bad' : softPct !== null && softPct >= 100 ? 'warn' : 'ok';
            return (
              <div key={p} className="spend" data-period={p}>
                <div className="spend-title">{p === 'day' ? 'Today' : p === 'week' ? 'This week' : 'This month'}</div>
                <div className="spend-amount">{money(s.spentUsd)}</div>
                <div className="meter" aria-label={`${p} spend against the hard limit`}>
                  <div className={`meter-fill ${state}`} style={{ width: `${hardPct ?? softPct ?? 0}%` }} />
                  {s.hardUsd && s.softUsd && (
                    <div
                      className="meter-mark"
                      style={{ left: `${Math.min(100, (Number(s.softUsd) / Number(s.hardUsd)) * 100)}%` }}
                    />
                  )}
                </div>
                <div className="muted small">
                  soft {money(s.softUsd)} · hard {money(s.hardUsd)} · reserved {money(s.reservedUsd)} · {s.requests}{' '}
                  requests
                </div>
              </div>
            );
          })}
        </div>
      )}
      {spend && spend.budgets.length > 0 && (
        <p className="muted small">
          Limits that apply: {spend.budgets.map((b) => `${b.scope} ${b.period} (${b.source})`).join(', ')}
        </p>
      )}
    </section>
  );
}

/** The budgets list and (admins) the form that sets soft and hard limits. */
function Budgets({
  admin,
  staff,
  users,
  userName,
  defaultUser,
  onChange,
}: {
  admin: boolean;
  staff: boolean;
  users: UserView[];
  userName: (id: string) => string;
  defaultUser: string;
  onChange: () => void;
}) {
  const budgets = useLoad((signal) => api<{ budgets: BudgetView[] }>('/v1/budgets', { signal }), []);
  const [scope, setScope] = useState<'user' | 'team' | 'global'>('user');
  const [scopeId, setScopeId] = useState(defaultUser);
  const [period, setPeriod] = useState<'day' | 'week' | 'month'>('day');
  const [soft, setSoft] = useState('');
  const [hard, setHard] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const actions = useAction();
  const list = budgets.data?.budgets ?? [];
  const { items, pager } = usePaged(list, 10);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    void actions.run(async () => {
      const body: Record<string, unknown> = { scope, period };
      if (scope !== 'global') body.scopeId = scopeId.trim();
      body.softUsd = soft.trim() ? soft.trim() : null;
      body.hardUsd = hard.trim() ? hard.trim() : null;
      const saved = await api<BudgetView>('/v1/budgets', { method: 'PUT', body });
      setDone(
        `Saved: ${scope}${scope !== 'global' ? ` ${scope === 'user' ? userName(saved.scopeId) : saved.scopeId}` : ''} ${period} — soft ${money(saved.softUsd)}, hard ${money(saved.hardUsd)}.`,
      );
      budgets.reload();
      onChange();
    });
  };

  const remove = (b: BudgetView) =>
    void actions.run(async () => {
      await api(`/v1/budgets/${b.budgetId}`, { method: 'DELETE' });
      budgets.reload();
      onChange();
    });

  const scopeLabel = (b: BudgetView) =>
    b.scope === 'global' ? 'everyone' : b.scope === 'user' ? userName(b.scopeId) : `team ${b.scopeId}`;

  return (
    <section className="card" data-testid="budgets">
      <h2>Limits</h2>
      <p className="muted small">
        A soft limit notifies (e.g. alert at $50); a hard limit stops requests (e.g. stop at $100).
      </p>
      <ErrorBanner error={budgets.error ?? actions.error} onDismiss={() => actions.setError(null)} />
      {done && <Notice>{done}</Notice>}
      {admin && (
        <form className="form budget-form" onSubmit={submit} data-testid="budget-form">
          <div className="grid-4">
            <Field label="Applies to">
              <select name="scope" value={scope} onChange={(e) => setScope(e.target.value as typeof scope)}>
                <option value="user">a user</option>
                <option value="team">a team</option>
                <option value="global">everyone (global)</option>
              </select>
            </Field>
            {scope === 'user' && (
              <Field label="User">
                <UserPicker users={users} value={scopeId} onChange={setScopeId} />
              </Field>
            )}
            {scope === 'team' && (
              <Field label="Team id">
                <input name="scopeId" value={scopeId} onChange={(e) => setScopeId(e.target.value)} />
              </Field>
            )}
            <Field label="Period">
              <select name="period" value={period} onChange={(e) => setPeriod(e.target.value as typeof period)}>
                <option value="day">per day</option>
                <option value="week">per week</option>
                <option value="month">per month</option>
              </select>
            </Field>
            <Field label="Soft limit (USD)">
              <input
                name="softUsd"
                inputMode="decimal"
                placeholder="50.00"
                value={soft}
                onChange={(e) => setSoft(e.target.value)}
              />
            </Field>
            <Field label="Hard limit (USD)">
              <input
                name="hardUsd"
                inputMode="decimal"
                placeholder="100.00"
                value={hard}
                onChange={(e) => setHard(e.target.value)}
              />
            </Field>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={actions.busy}>
              Save limits
            </button>
          </div>
        </form>
      )}
      {list.length === 0 ? (
        budgets.data && <p className="muted">No limits set{staff ? '' : ' that apply to you'}.</p>
      ) : (
        <div className="table-wrap">
          <table className="table compact" data-testid="budgets-table">
            <thead>
              <tr>
                <th>Applies to</th>
                <th>Period</th>
                <th className="num">Spent</th>
                <th className="num">Soft</th>
                <th className="num">Hard</th>
                <th className="num">Remaining</th>
                <th>State</th>
                {admin && <th />}
              </tr>
            </thead>
            <tbody>
              {items.map((b) => (
                <tr key={b.budgetId}>
                  <td data-label="Applies to">{scopeLabel(b)}</td>
                  <td data-label="Period">{b.period}</td>
                  <td data-label="Spent" className="num">
                    {money(b.spentUsd)}
                  </td>
                  <td data-label="Soft" className="num">
                    {money(b.softUsd)}
                  </td>
                  <td data-label="Hard" className="num">
                    {money(b.hardUsd)}
                  </td>
                  <td data-label="Remaining" className="num">
                    {money(b.remainingUsd)}
                  </td>
                  <td data-label="State">
                    <Badge
                      value={
                        b.hardReached ? 'hard_limit_reached' : b.softReached ? 'soft_limit_reached' : 'within_limits'
                      }
                    />
                  </td>
                  {admin && (
                    <td className="row-actions">
                      {b.source !== 'plan' && (
                        <button type="button" className="danger" onClick={() => remove(b)}>
                          Delete
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {pager}
        </div>
      )}
    </section>
  );
}
