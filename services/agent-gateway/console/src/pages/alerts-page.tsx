import { useState, type FormEvent } from 'react';
import { api } from '../api';
import {
  Badge,
  ErrorBanner,
  Field,
  Loading,
  Notice,
  Tabs,
  Toggle,
  useAction,
  useCursor,
  useLoad,
  usePaged,
  when,
} from '../components/common';
import { href, navigate, type Route } from '../router';
import { hasRole, mayOpen, useSession } from '../session';
import type {
  AlertRule,
  AlertRuleCatalog,
  AlertView,
  ChannelView,
  DeliveryView,
  NotificationView,
  Page,
} from '../types';

type Tab = 'rules' | 'alerts' | 'deliveries' | 'notifications';

/** Alerts: rules (create, edit, enable), recent alerts and their deliveries, and the caller's notifications. */
export function AlertsPage({ route }: { route: Route }) {
  const { me } = useSession();
  const reader = mayOpen(me, 'alerts');
  const tabs: { id: Tab; label: string }[] = reader
    ? [
        { id: 'rules', label: 'Rules' },
        { id: 'alerts', label: 'Recent alerts' },
        { id: 'deliveries', label: 'Deliveries' },
        { id: 'notifications', label: 'Notifications' },
      ]
    : [{ id: 'notifications', label: 'Notifications' }];
  const requested = route.query.get('tab') as Tab | null;
  const tab = tabs.find((t) => t.id === requested)?.id ?? tabs[0].id;
  return (
    <div className="page">
      <div className="page-head">
        <h1>{reader ? 'Alerts' : 'Notifications'}</h1>
      </div>
      {tabs.length > 1 && <Tabs tabs={tabs} current={tab} onChange={(t) => navigate(href(['alerts'], { tab: t }))} />}
      {tab === 'rules' && <Rules writer={hasRole(me, 'admin', 'operator')} route={route} />}
      {tab === 'alerts' && <AlertHistory route={route} />}
      {tab === 'deliveries' && <Deliveries route={route} />}
      {tab === 'notifications' && <Notifications />}
    </div>
  );
}

function Rules({ writer, route }: { writer: boolean; route: Route }) {
  const rules = useLoad((signal) => api<{ data: AlertRule[] }>('/v1/alert-rules', { signal }), []);
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);
  const actions = useAction();
  const filter = route.query.get('q') ?? '';
  const [text, setText] = useState(filter);
  const list = (rules.data?.data ?? []).filter(
    (r) => !filter || `${r.name} ${r.eventType} ${r.description}`.toLowerCase().includes(filter.toLowerCase()),
  );
  const { items, pager } = usePaged(list, 15, filter);

  const setEnabled = (rule: AlertRule, enabled: boolean) =>
    void actions.run(async () => {
      const updated = await api<AlertRule>(`/v1/alert-rules/${rule.id}/${enabled ? 'enable' : 'disable'}`, {
        method: 'POST',
      });
      rules.setData((d) => d && { data: d.data.map((r) => (r.id === updated.id ? updated : r)) });
    });

  const remove = (rule: AlertRule) => {
    if (!window.confirm(`Delete the rule ${rule.name}?`)) return;
    void actions.run(async () => {
      await api(`/v1/alert-rules/${rule.id}`, { method: 'DELETE' });
      rules.reload();
    });
  };

  return (
    <>
      <div className="toolbar">
        <form
          className="inline-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(href(['alerts'], { tab: 'rules', q: text.trim() }));
          }}
        >
          <input
            type="search"
            placeholder="Filter rules"
            aria-label="Filter rules"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit">Filter</button>
        </form>
        {writer && (
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            New rule
          </button>
        )}
      </div>
      <ErrorBanner error={rules.error ?? actions.error} onDismiss={() => actions.setError(null)} />
      {editing && (
        <RuleForm
          existing={editing === 'new' ? undefined : editing}
          onDone={(saved) => {
            setEditing(null);
            if (saved) rules.reload();
          }}
        />
      )}
      {rules.loading && !rules.data ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="rules-table">
            <thead>
              <tr>
                <th>Rule</th>
                <th>When</th>
                <th>Severity</th>
                <th>Channels</th>
                <th>Enabled</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} data-rule={r.name}>
                  <td data-label="Rule">
                    <strong>{r.name}</strong>
                    {r.builtin && <span className="muted small"> (default)</span>}
                    <div className="muted small">{r.description}</div>
                  </td>
                  <td data-label="When" className="break">
                    <code>{r.eventType}</code>{' '}
                    {r.kind === 'metric' && r.metric
                      ? `${r.metric.aggregate}${r.metric.value ? `(${r.metric.value})` : ''} over ${r.metric.window} ${r.metric.comparator} ${r.metric.threshold}`
                      : ''}
                    {r.condition && r.condition !== 'true' ? <div className="small">if {r.condition}</div> : null}
                  </td>
                  <td data-label="Severity">
                    <Badge value={r.severity} />
                  </td>
                  <td data-label="Channels">{r.channels.join(', ')}</td>
                  <td data-label="Enabled">
                    <Toggle
                      checked={r.enabled}
                      label={`${r.name} enabled`}
                      disabled={!writer || actions.busy}
                      onChange={(on) => setEnabled(r, on)}
                    />
                  </td>
                  <td className="row-actions">
                    {writer && (
                      <>
                        <button type="button" onClick={() => setEditing(r)}>
                          Edit
                        </button>
                        <button type="button" className="danger" onClick={() => remove(r)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {pager}
        </div>
      )}
    </>
  );
}

interface RuleDraft {
  name: string;
  description: string;
  kind: 'event' | 'metric';
  eventType: string;
  condition: string;
  entity: string;
  severity: string;
  channels: string[];
  cooldownMinutes: string;
  messageTemplate: string;
  notifyResolved: boolean;
  enabled: boolean;
  aggregate: string;
  value: string;
  window: string;
  comparator: string;
  threshold: string;
}

function draftOf(r?: AlertRule): RuleDraft {
  return {
    name: r?.name ?? '',
    description: r?.description ?? '',
    kind: r?.kind ?? 'event',
    eventType: r?.eventType ?? '',
    condition: r?.condition ?? 'true',
    entity: r?.entity ?? '',
    severity: r?.severity ?? 'warning',
    channels: r?.channels ?? [],
    cooldownMinutes: String(r?.cooldownMinutes ?? 15),
    messageTemplate: r?.messageTemplate ?? '',
    notifyResolved: r?.notifyResolved ?? true,
    enabled: r?.enabled ?? true,
    aggregate: r?.metric?.aggregate ?? 'count',
    value: r?.metric?.value ?? '',
    window: r?.metric?.window ?? '5m',
    comparator: r?.metric?.comparator ?? '>',
    threshold: r?.metric ? String(r.metric.threshold) : '',
  };
}

function RuleForm({ existing, onDone }: { existing?: AlertRule; onDone: (saved: boolean) => void }) {
  const catalog = useLoad((signal) => api<AlertRuleCatalog>('/v1/alert-rules/catalog', { signal }), []);
  const channels = useLoad(
    (signal) => api<{ data: ChannelView[] }>('/v1/channels', { signal }).catch(() => ({ data: [] as ChannelView[] })),
    [],
  );
  const [d, setD] = useState<RuleDraft>(() => draftOf(existing));
  const [checked, setChecked] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const set = <K extends keyof RuleDraft>(k: K, v: RuleDraft[K]) => setD((x) => ({ ...x, [k]: v }));
  const eventType = catalog.data?.eventTypes.find((e) => e.name === d.eventType);

  const body = () => ({
    name: d.name.trim(),
    description: d.description.trim(),
    kind: d.kind,
    eventType: d.eventType,
    condition: d.condition.trim() || 'true',
    entity: d.entity.trim() || null,
    metric:
      d.kind === 'metric'
        ? {
            aggregate: d.aggregate,
            ...(d.value.trim() ? { value: d.value.trim() } : {}),
            window: d.window.trim(),
            comparator: d.comparator,
            threshold: d.threshold.trim(),
          }
        : null,
    severity: d.severity,
    channels: d.channels,
    cooldownMinutes: Number(d.cooldownMinutes),
    messageTemplate: d.messageTemplate,
    notifyResolved: d.notifyResolved,
    enabled: d.enabled,
  });

  const validate = () =>
    void run(async () => {
      setChecked(null);
      await api('/v1/alert-rules/validate', { body: body() });
      setChecked('The rule is valid.');
    });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      if (existing) await api(`/v1/alert-rules/${existing.id}`, { method: 'PUT', body: body() });
      else await api('/v1/alert-rules', { body: body() });
      onDone(true);
    });
  };

  return (
    <form className="card form" onSubmit={submit} data-testid="rule-form">
      <h2>{existing ? `Edit ${existing.name}` : 'New alert rule'}</h2>
      <ErrorBanner error={error ?? catalog.error} />
      {checked && <Notice>{checked}</Notice>}
      <div className="grid-2">
        <Field label="Name">
          <input name="name" required value={d.name} onChange={(e) => set('name', e.target.value)} />
        </Field>
        <Field label="Description">
          <input name="description" value={d.description} onChange={(e) => set('description', e.target.value)} />
        </Field>
        <Field label="Kind" hint="event: each matching event; metric: an aggregate over a window">
          <select name="kind" value={d.kind} onChange={(e) => set('kind', e.target.value as RuleDraft['kind'])}>
            <option value="event">event</option>
            <option value="metric">metric</option>
          </select>
        </Field>
        <Field label="Event type" hint={eventType?.doc}>
          <select name="eventType" value={d.eventType} onChange={(e) => set('eventType', e.target.value)}>
            <option value="">Choose…</option>
            {(catalog.data?.eventTypes ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="Condition"
          hint={
            eventType
              ? `Fields: ${eventType.fields.map((f) => f.name).join(', ')}`
              : 'An expression over the event, e.g. cost_usd > 10'
          }
        >
          <input name="condition" value={d.condition} onChange={(e) => set('condition', e.target.value)} />
        </Field>
        <Field label="Entity" hint="Optional: what one alert is about, e.g. agent">
          <input name="entity" value={d.entity} onChange={(e) => set('entity', e.target.value)} />
        </Field>
        {d.kind === 'metric' && (
          <>
            <Field label="Aggregate">
              <select name="aggregate" value={d.aggregate} onChange={(e) => set('aggregate', e.target.value)}>
                {(catalog.data?.aggregates ?? ['count']).map((a) => (
                  <option key={a}>{a}</option>
                ))}
              </select>
            </Field>
            <Field label="Value" hint="The field aggregated (not for count/rate)">
              <input name="value" value={d.value} onChange={(e) => set('value', e.target.value)} />
            </Field>
            <Field label="Window" hint="e.g. 5m, 1h">
              <input name="window" value={d.window} onChange={(e) => set('window', e.target.value)} />
            </Field>
            <Field label="Comparator">
              <select name="comparator" value={d.comparator} onChange={(e) => set('comparator', e.target.value)}>
                {(catalog.data?.comparators ?? ['>']).map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </Field>
            <Field label="Threshold">
              <input name="threshold" value={d.threshold} onChange={(e) => set('threshold', e.target.value)} />
            </Field>
          </>
        )}
        <Field label="Severity">
          <select name="severity" value={d.severity} onChange={(e) => set('severity', e.target.value)}>
            {(catalog.data?.severities ?? ['info', 'warning', 'error', 'critical']).map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        <Field label="Cooldown (minutes)">
          <input
            name="cooldownMinutes"
            type="number"
            min={0}
            value={d.cooldownMinutes}
            onChange={(e) => set('cooldownMinutes', e.target.value)}
          />
        </Field>
      </div>
      <Field label="Message" hint="Event fields in braces, e.g. Workflow failed: {workflow_name} - {error}">
        <textarea
          name="messageTemplate"
          rows={2}
          value={d.messageTemplate}
          onChange={(e) => set('messageTemplate', e.target.value)}
        />
      </Field>
      <fieldset className="roles">
        <legend>Channels</legend>
        {(channels.data?.data ?? []).map((c) => (
          <label key={c.name} className="checkbox">
            <input
              type="checkbox"
              checked={d.channels.includes(c.name)}
              onChange={(e) =>
                set('channels', e.target.checked ? [...d.channels, c.name] : d.channels.filter((x) => x !== c.name))
              }
            />{' '}
            {c.name} <span className="muted small">({c.type})</span>
          </label>
        ))}
        {channels.data?.data.length === 0 && <span className="muted">No channels you can see.</span>}
      </fieldset>
      <label className="checkbox">
        <input type="checkbox" checked={d.notifyResolved} onChange={(e) => set('notifyResolved', e.target.checked)} />{' '}
        Notify when resolved
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={d.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
      </label>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {existing ? 'Save rule' : 'Create rule'}
        </button>
        <button type="button" onClick={validate} disabled={busy}>
          Check
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AlertHistory({ route }: { route: Route }) {
  const severity = route.query.get('severity') ?? '';
  const { cursor, controls } = useCursor(severity);
  const alerts = useLoad(
    (signal) => api<Page<AlertView>>('/v1/alerts', { query: { severity, cursor, limit: 25 }, signal }),
    [severity, cursor],
  );
  return (
    <>
      <div className="toolbar">
        <Field label="Severity">
          <select
            value={severity}
            onChange={(e) => navigate(href(['alerts'], { tab: 'alerts', severity: e.target.value }))}
          >
            <option value="">any</option>
            {['info', 'warning', 'error', 'critical'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorBanner error={alerts.error} />
      {alerts.loading && !alerts.data ? (
        <Loading />
      ) : alerts.data?.data.length === 0 ? (
        <p className="muted">No alerts.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="alerts-table">
            <thead>
              <tr>
                <th>When</th>
                <th>Alert</th>
                <th>Severity</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {(alerts.data?.data ?? []).map((a) => (
                <tr key={a.id}>
                  <td data-label="When">{when(a.createdAt)}</td>
                  <td data-label="Alert">
                    <strong>{a.title}</strong>
                    <div className="small">{a.message}</div>
                    <div className="muted small">
                      {a.ruleName}
                      {a.entity ? ` · ${a.entity}` : ''}
                    </div>
                  </td>
                  <td data-label="Severity">
                    <Badge value={a.severity} /> <Badge value={a.action} />
                  </td>
                  <td className="row-actions">
                    <a href={href(['alerts'], { tab: 'deliveries', alert: a.id })}>Deliveries</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {controls(alerts.data?.nextCursor)}
        </div>
      )}
    </>
  );
}

function Deliveries({ route }: { route: Route }) {
  const alertId = route.query.get('alert') ?? '';
  const status = route.query.get('status') ?? '';
  const { cursor, controls } = useCursor(`${alertId}|${status}`);
  const deliveries = useLoad(
    (signal) => api<Page<DeliveryView>>('/v1/deliveries', { query: { alertId, status, cursor, limit: 25 }, signal }),
    [alertId, status, cursor],
  );
  return (
    <>
      <div className="toolbar">
        <Field label="Status">
          <select
            value={status}
            onChange={(e) => navigate(href(['alerts'], { tab: 'deliveries', alert: alertId, status: e.target.value }))}
          >
            <option value="">any</option>
            {['pending', 'retrying', 'delivered', 'failed'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
        {alertId && (
          <span>
            For one alert · <a href={href(['alerts'], { tab: 'deliveries' })}>show all</a>
          </span>
        )}
      </div>
      <ErrorBanner error={deliveries.error} />
      {deliveries.loading && !deliveries.data ? (
        <Loading />
      ) : deliveries.data?.data.length === 0 ? (
        <p className="muted">No deliveries.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="deliveries-table">
            <thead>
              <tr>
                <th>When</th>
                <th>Channel</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {(deliveries.data?.data ?? []).map((d) => (
                <tr key={d.id}>
                  <td data-label="When">{when(d.createdAt)}</td>
                  <td data-label="Channel">
                    {d.channel} <span className="muted small">({d.channelType})</span>
                  </td>
                  <td data-label="Status">
                    <Badge value={d.status} />
                  </td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Last error" className="break">
                    {d.lastError ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {controls(deliveries.data?.nextCursor)}
        </div>
      )}
    </>
  );
}

function Notifications() {
  const [unreadOnly, setUnreadOnly] = useState(false);
  const { cursor, controls } = useCursor(unreadOnly);
  const list = useLoad(
    (signal) =>
      api<Page<NotificationView> & { unreadCount: number }>('/v1/notifications', {
        query: { unread: unreadOnly || undefined, cursor, limit: 25 },
        signal,
      }),
    [unreadOnly, cursor],
  );
  const actions = useAction();
  const markRead = (n: NotificationView) =>
    void actions.run(async () => {
      await api(`/v1/notifications/${n.id}/read`, { method: 'POST' });
      list.reload();
    });
  const markAll = () =>
    void actions.run(async () => {
      await api('/v1/notifications/read-all', { method: 'POST' });
      list.reload();
    });
  return (
    <>
      <div className="toolbar">
        <label className="checkbox">
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} /> Unread only
        </label>
        <span className="muted">{list.data ? `${list.data.unreadCount} unread` : ''}</span>
        <button type="button" onClick={markAll} disabled={actions.busy || !list.data?.unreadCount}>
          Mark all read
        </button>
      </div>
      <ErrorBanner error={list.error ?? actions.error} onDismiss={() => actions.setError(null)} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.data.length === 0 ? (
        <p className="muted">No notifications.</p>
      ) : (
        <ul className="notifications" data-testid="notifications">
          {(list.data?.data ?? []).map((n) => (
            <li key={n.id} className={n.isRead ? 'read' : 'unread'}>
              <div>
                <strong>{n.title}</strong> <span className="muted small">{when(n.createdAt)}</span>
                <div>{n.message}</div>
                {n.link && <a href={n.link.startsWith('#') ? n.link : n.link.startsWith('/') ? n.link : '#'}>Open</a>}
              </div>
              {!n.isRead && (
                <button type="button" onClick={() => markRead(n)}>
                  Mark read
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {controls(list.data?.nextCursor)}
    </>
  );
}
