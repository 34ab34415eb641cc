import { useState, type FormEvent } from 'react';
import { api } from '../api';
import {
  Badge,
  ErrorBanner,
  Field,
  Loading,
  Notice,
  Toggle,
  useAction,
  useLoad,
  usePaged,
  when,
} from '../components/common';
import type { ConnectionTestResult, ProviderView } from '../types';

const KINDS = ['openai', 'anthropic', 'gemini', 'openrouter', 'openai-compatible', 'offline'];

interface ProviderDraft {
  id: string;
  name: string;
  kind: string;
  baseUrl: string;
  defaultModel: string;
  apiKey: string;
  enabled: boolean;
}

const EMPTY: ProviderDraft = {
  id: '',
  name: '',
  kind: 'openai',
  baseUrl: '',
  defaultModel: '',
  apiKey: '',
  enabled: true,
};

/**
 * Platform Configuration (seed 3.1): LLM providers with name, base URL, a write-only API key (kept
 * in the secrets service, never shown again) and default model; "Test Connection" per provider.
 */
export function ProvidersPage() {
  const providers = useLoad((signal) => api<{ data: ProviderView[] }>('/v1/providers', { signal }), []);
  const [editing, setEditing] = useState<ProviderView | 'new' | null>(null);
  const [results, setResults] = useState<Record<string, ConnectionTestResult>>({});
  const [testing, setTesting] = useState<string | null>(null);
  const actions = useAction();
  const list = providers.data?.data ?? [];
  const { items, pager } = usePaged(list, 10);

  const test = (id: string) =>
    void actions.run(async () => {
      setTesting(id);
      try {
        const result = await api<ConnectionTestResult>(`/v1/providers/${encodeURIComponent(id)}/test`, {
          method: 'POST',
        });
        setResults((r) => ({ ...r, [id]: result }));
        providers.reload();
      } finally {
        setTesting(null);
      }
    });

  const setEnabled = (p: ProviderView, enabled: boolean) =>
    void actions.run(async () => {
      await api(`/v1/providers/${encodeURIComponent(p.id)}`, { method: 'PATCH', body: { enabled } });
      providers.reload();
    });

  const remove = (p: ProviderView) => {
    if (!window.confirm(`Delete the provider ${p.name}? Its API key is removed from the secrets service.`)) return;
    void actions.run(async () => {
      await api(`/v1/providers/${encodeURIComponent(p.id)}`, { method: 'DELETE' });
      providers.reload();
    });
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Platform Configuration</h1>
        <button type="button" className="primary" onClick={() => setEditing('new')}>
          Add provider
        </button>
      </div>
      <p className="muted">
        LLM providers the agents call. API keys are written to the secrets service and never shown again; only their
        last characters are.
      </p>
      <ErrorBanner error={providers.error ?? actions.error} onDismiss={() => actions.setError(null)} />
      {editing && (
        <ProviderForm
          existing={editing === 'new' ? undefined : editing}
          onDone={(saved) => {
            setEditing(null);
            if (saved) providers.reload();
          }}
        />
      )}
      {providers.loading && !providers.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <Notice kind="info">No providers configured: agents answer with the offline provider until you add one.</Notice>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="providers-table">
            <thead>
              <tr>
                <th>Provider</th>
                <th>Base URL</th>
                <th>Default model</th>
                <th>API key</th>
                <th>Enabled</th>
                <th>Connection</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((p) => {
                const result = results[p.id];
                return (
                  <tr key={p.id} data-provider={p.id}>
                    <td data-label="Provider">
                      <strong>{p.name}</strong>
                      <div className="muted small">
                        {p.id} · {p.kind}
                      </div>
                    </td>
                    <td data-label="Base URL" className="break">
                      {p.effectiveBaseUrl ?? '—'}
                    </td>
                    <td data-label="Default model">{p.defaultModel ?? '—'}</td>
                    <td data-label="API key">{p.apiKeySet ? `set (${p.apiKeyHint ?? 'hidden'})` : 'not set'}</td>
                    <td data-label="Enabled">
                      <Toggle
                        checked={p.enabled}
                        label={`${p.name} enabled`}
                        onChange={(enabled) => setEnabled(p, enabled)}
                      />
                    </td>
                    <td data-label="Connection" className="connection" data-testid={`connection-${p.id}`}>
                      {result ? (
                        <TestResult result={result} />
                      ) : p.lastTest ? (
                        <span title={when(p.lastTest.at)}>
                          <Badge value={p.lastTest.ok ? 'ok' : 'failed'} /> {p.lastTest.error ?? ''}
                        </span>
                      ) : (
                        <span className="muted">not tested</span>
                      )}
                    </td>
                    <td className="row-actions">
                      <button type="button" onClick={() => test(p.id)} disabled={testing === p.id}>
                        {testing === p.id ? 'Testing…' : 'Test Connection'}
                      </button>
                      <button type="button" onClick={() => setEditing(p)}>
                        Edit
                      </button>
                      <button type="button" className="danger" onClick={() => remove(p)}>
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {pager}
        </div>
      )}
      <AllowedHosts />
    </div>
  );
}

function TestResult({ result }: { result: ConnectionTestResult }) {
  if (result.ok)
    return (
      <span className="test-ok" data-testid="test-result">
        <Badge value="ok" /> Connected
        {result.latencyMs !== undefined ? ` in ${result.latencyMs} ms` : ''}
        {result.modelCount !== undefined ? ` · ${result.modelCount} models` : ''}
        {result.models?.length ? <span className="muted small"> ({result.models.slice(0, 5).join(', ')})</span> : null}
      </span>
    );
  return (
    <span className="test-failed" data-testid="test-result">
      <Badge value="failed" /> {result.status ? `HTTP ${result.status}: ` : ''}
      {result.error ?? 'the provider did not answer'}
    </span>
  );
}

function ProviderForm({ existing, onDone }: { existing?: ProviderView; onDone: (saved: boolean) => void }) {
  const [draft, setDraft] = useState<ProviderDraft>(
    existing
      ? {
          id: existing.id,
          name: existing.name,
          kind: existing.kind,
          baseUrl: existing.baseUrl ?? '',
          defaultModel: existing.defaultModel ?? '',
          apiKey: '',
          enabled: existing.enabled,
        }
      : EMPTY,
  );
  const [removeKey, setRemoveKey] = useState(false);
  const { busy, error, run } = useAction();
  const set = <K extends keyof ProviderDraft>(k: K, v: ProviderDraft[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const fieldError = (error as { field?: string } | null)?.field;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      if (existing) {
        const body: Record<string, unknown> = {
          name: draft.name,
          baseUrl: draft.baseUrl.trim() ? draft.baseUrl.trim() : null,
          defaultModel: draft.defaultModel.trim() ? draft.defaultModel.trim() : null,
          enabled: draft.enabled,
        };
        if (draft.apiKey) body.apiKey = draft.apiKey;
        else if (removeKey) body.apiKey = null;
        await api(`/v1/providers/${encodeURIComponent(existing.id)}`, { method: 'PATCH', body });
      } else {
        const body: Record<string, unknown> = {
          id: draft.id.trim(),
          name: draft.name.trim(),
          kind: draft.kind,
          enabled: draft.enabled,
        };
        if (draft.baseUrl.trim()) body.baseUrl = draft.baseUrl.trim();
        if (draft.defaultModel.trim()) body.defaultModel = draft.defaultModel.trim();
        if (draft.apiKey) body.apiKey = draft.apiKey;
        await api('/v1/providers', { body });
      }
      setDraft((d) => ({ ...d, apiKey: '' }));
      onDone(true);
    });
  };

  return (
    <form className="card form" onSubmit={submit} data-testid="provider-form">
      <h2>{existing ? `Edit ${existing.name}` : 'Add a provider'}</h2>
      <ErrorBanner error={error} />
      <div className="grid-2">
        {!existing && (
          <Field
            label="Id"
            hint="Lowercase letters, digits and dashes, e.g. openai or my-vllm"
            error={fieldError === 'id' ? ' ' : undefined}
          >
            <input name="id" required value={draft.id} onChange={(e) => set('id', e.target.value)} />
          </Field>
        )}
        <Field label="Provider name" error={fieldError === 'name' ? ' ' : undefined}>
          <input name="name" required value={draft.name} onChange={(e) => set('name', e.target.value)} />
        </Field>
        {!existing && (
          <Field label="Kind">
            <select name="kind" value={draft.kind} onChange={(e) => set('kind', e.target.value)}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field
          label="Base URL"
          hint={
            draft.kind === 'openai-compatible' ? 'Required for OpenAI-compatible servers' : "Empty: the vendor's API"
          }
          error={fieldError === 'baseUrl' ? ' ' : undefined}
        >
          <input
            name="baseUrl"
            type="url"
            placeholder="https://…"
            value={draft.baseUrl}
            onChange={(e) => set('baseUrl', e.target.value)}
          />
        </Field>
        <Field label="Default model" error={fieldError === 'defaultModel' ? ' ' : undefined}>
          <input name="defaultModel" value={draft.defaultModel} onChange={(e) => set('defaultModel', e.target.value)} />
        </Field>
        <Field
          label="API key"
          hint={
            existing?.apiKeySet
              ? `A key is set (${existing.apiKeyHint ?? 'hidden'}). Leave empty to keep it.`
              : 'Stored in the secrets service; never shown again.'
          }
          error={fieldError === 'apiKey' ? ' ' : undefined}
        >
          <input
            name="apiKey"
            type="password"
            autoComplete="new-password"
            spellCheck={false}
            value={draft.apiKey}
            onChange={(e) => set('apiKey', e.target.value)}
          />
        </Field>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
      </label>
      {existing?.apiKeySet && (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={removeKey}
            disabled={draft.apiKey !== ''}
            onChange={(e) => setRemoveKey(e.target.checked)}
          />{' '}
          Remove the stored API key
        </label>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save provider'}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Hosts admins allowed as provider base URLs although the SSRF rules would block them (e.g. a local server). */
function AllowedHosts() {
  const hosts = useLoad(
    (signal) => api<{ data: { host: string; note?: string | null }[] }>('/v1/providers/allowed-hosts', { signal }),
    [],
  );
  const [host, setHost] = useState('');
  const { busy, error, run, setError } = useAction();
  const add = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      await api('/v1/providers/allowed-hosts', { body: { host: host.trim() } });
      setHost('');
      hosts.reload();
    });
  };
  const remove = (h: string) =>
    void run(async () => {
      await api(`/v1/providers/allowed-hosts/${encodeURIComponent(h)}`, { method: 'DELETE' });
      hosts.reload();
    });
  return (
    <section className="card">
      <h2>Allowed private hosts</h2>
      <p className="muted small">
        Base URLs on private or loopback addresses are refused unless their host is listed here (for self-hosted
        models).
      </p>
      <ErrorBanner error={hosts.error ?? error} onDismiss={() => setError(null)} />
      <ul className="chips">
        {(hosts.data?.data ?? []).map((h) => (
          <li key={h.host} className="chip">
            {h.host}
            <button type="button" className="link" aria-label={`Remove ${h.host}`} onClick={() => remove(h.host)}>
              ×
            </button>
          </li>
        ))}
        {hosts.data && hosts.data.data.length === 0 && <li className="muted">none</li>}
      </ul>
      <form className="inline-form" onSubmit={add}>
        <input
          name="host"
          placeholder="127.0.0.1 or vllm.internal"
          value={host}
          onChange={(e) => setHost(e.target.value)}
          aria-label="Host to allow"
        />
        <button type="submit" disabled={busy || !host.trim()}>
          Allow host
        </button>
      </form>
    </section>
  );
}
