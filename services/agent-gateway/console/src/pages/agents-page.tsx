import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiProblem } from '../api';
import { Badge, ErrorBanner, Field, Loading, useAction, useLoad, usePaged, when } from '../components/common';
import { OutputView } from '../components/output-view';
import { QualityScoreView, RateOutput } from '../components/quality-and-rating';
import { fieldOfError, initialValues, SchemaForm, toInputs, type FormValues } from '../components/schema-form';
import { href, navigate, type Route } from '../router';
import { useSession } from '../session';
import type { CatalogAgent, CatalogCommand, CommandSummary, ExecutionView, TemplateVersionList } from '../types';

/** Agents and commands: the roster, the command library (search, pages), running a command, template versions. */
export function AgentsPage({ route }: { route: Route }) {
  const [, slug, command] = route.path;
  if (slug && command) return <CommandView slug={slug} command={command} />;
  return <Roster route={route} slug={slug} />;
}

function Roster({ route, slug }: { route: Route; slug?: string }) {
  const agents = useLoad((signal) => api<{ data: CatalogAgent[] }>('/v1/agents', { signal }), []);
  const { me } = useSession();
  const access = new Map((me.agentAccess?.agents ?? []).map((a) => [a.slug, a.allowed]));
  const list = agents.data?.data ?? [];
  const agent = slug ? list.find((a) => a.slug === slug) : undefined;
  return (
    <div className="page">
      <div className="page-head">
        <h1>{agent ? agent.name : 'Agents'}</h1>
        {agent && <a href="#/agents">‹ All agents</a>}
      </div>
      <ErrorBanner error={agents.error} />
      {agents.loading && !agents.data && <Loading />}
      {!slug && (
        <div className="cards" data-testid="roster">
          {list.map((a) => (
            <a key={a.slug} className="card agent-card" href={href(['agents', a.slug])} data-agent={a.slug}>
              <strong>{a.name}</strong>
              <span className="muted small">
                {a.category} · {a.defaultProvider}/{a.defaultModel}
              </span>
              <span className="small">{a.capabilities.slice(0, 3).join(' · ')}</span>
              <span>
                {!a.enabled && <Badge value="disabled" />}
                {access.has(a.slug) && <Badge value={access.get(a.slug) ? 'allowed' : 'denied'} />}
              </span>
            </a>
          ))}
        </div>
      )}
      {agent && (
        <section className="card">
          <dl className="facts wide">
            <dt>Category</dt>
            <dd>{agent.category}</dd>
            <dt>Default model</dt>
            <dd>
              {agent.defaultProvider}/{agent.defaultModel}
            </dd>
            <dt>Concurrent tasks</dt>
            <dd>{agent.maxConcurrentTasks}</dd>
            <dt>Capabilities</dt>
            <dd>{agent.capabilities.join(', ')}</dd>
          </dl>
          <details>
            <summary>System prompt</summary>
            <pre>{agent.systemPrompt}</pre>
          </details>
        </section>
      )}
      {list.length > 0 && <CommandLibrary route={route} agents={list} slug={slug} />}
    </div>
  );
}

function CommandLibrary({ route, agents, slug }: { route: Route; agents: CatalogAgent[]; slug?: string }) {
  const q = route.query.get('q') ?? '';
  const category = route.query.get('category') ?? '';
  const [text, setText] = useState(q);
  const commands = useLoad(
    async (signal) => {
      const slugs = slug ? [slug] : agents.map((a) => a.slug);
      const lists = await Promise.all(
        slugs.map((s) =>
          api<{ data: CommandSummary[] }>(`/v1/agents/${encodeURIComponent(s)}/commands`, { signal }).then(
            (r) => r.data,
          ),
        ),
      );
      return lists.flat();
    },
    [slug, agents.length],
  );
  const filtered = useMemo(() => {
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    return (commands.data ?? []).filter(
      (c) =>
        (!category || c.category === category) &&
        words.every((w) => `${c.agent} ${c.name} ${c.description}`.toLowerCase().includes(w)),
    );
  }, [commands.data, q, category]);
  const { items, pager } = usePaged(filtered, 10, `${q}|${category}|${slug}`);
  const categories = [...new Set((commands.data ?? []).map((c) => c.category))].sort();
  const base = slug ? ['agents', slug] : ['agents'];
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    navigate(href(base, { q: text.trim(), category }));
  };

  return (
    <section className="card" data-testid="command-library">
      <h2>Command library</h2>
      <form className="inline-form" role="search" onSubmit={onSearch}>
        <input
          type="search"
          name="q"
          placeholder="Search commands"
          aria-label="Search commands"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <select
          name="category"
          aria-label="Category"
          value={category}
          onChange={(e) => navigate(href(base, { q, category: e.target.value }))}
        >
          <option value="">all categories</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
      </form>
      <ErrorBanner error={commands.error} />
      {commands.loading && !commands.data ? (
        <Loading />
      ) : (
        <>
          <p className="muted small">{filtered.length} commands</p>
          <div className="table-wrap">
            <table className="table" data-testid="commands-table">
              <thead>
                <tr>
                  <th>Command</th>
                  {!slug && <th>Agent</th>}
                  <th>Category</th>
                  <th>Description</th>
                  <th>Version</th>
                </tr>
              </thead>
              <tbody>
                {items.map((c) => (
                  <tr key={`${c.agent}/${c.name}`} data-command={`${c.agent}/${c.name}`}>
                    <td data-label="Command">
                      <a href={href(['agents', c.agent, c.name])}>{c.name}</a>
                    </td>
                    {!slug && <td data-label="Agent">{c.agent}</td>}
                    <td data-label="Category">{c.category}</td>
                    <td data-label="Description">{c.description}</td>
                    <td data-label="Version">v{c.labels.production ?? c.labels.latest ?? '?'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {pager}
        </>
      )}
    </section>
  );
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

function CommandView({ slug, command }: { slug: string; command: string }) {
  const cmd = useLoad(
    (signal) =>
      api<CatalogCommand>(`/v1/agents/${encodeURIComponent(slug)}/commands/${encodeURIComponent(command)}`, {
        signal,
      }),
    [slug, command],
  );
  const [values, setValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [execution, setExecution] = useState<ExecutionView | null>(null);
  const [mode, setMode] = useState<'now' | 'background' | 'task'>('now');
  const { busy, error, run, setError } = useAction();

  useEffect(() => {
    setValues(initialValues(cmd.data?.inputSchema));
  }, [cmd.data]);

  const submit = () => {
    if (!cmd.data) return;
    const { inputs, errors: bad } = toInputs(cmd.data.inputSchema, values);
    setErrors(bad);
    setError(null);
    if (Object.keys(bad).length) return;
    setExecution(null);
    void run(async () => {
      const path = `/v1/agents/${encodeURIComponent(slug)}/commands/${encodeURIComponent(command)}`;
      try {
        if (mode === 'task') {
          // A task: the orchestrator runs it as a one-step run, followed on the Runs page.
          const run = await api<{ id: string }>('/v1/tasks', { body: { agent: slug, command, inputs } });
          navigate(href(['runs', run.id]));
          return;
        }
        const first = await api<ExecutionView>(path, {
          body: { inputs },
          query: mode === 'background' ? { async: true } : undefined,
        });
        let view = first;
        while (!TERMINAL.has(view.status)) {
          setExecution(view);
          await new Promise((r) => setTimeout(r, 1000));
          view = await api<ExecutionView>(`/v1/executions/${first.id}`);
        }
        setExecution(view);
      } catch (e) {
        const field = e instanceof ApiProblem ? fieldOfError(e.field, cmd.data?.inputSchema) : undefined;
        if (field) setErrors({ [field]: 'see the message above' });
        throw e;
      }
    });
  };

  if (cmd.error) return <ErrorBanner error={cmd.error} />;
  if (!cmd.data) return <Loading />;
  const c = cmd.data;
  return (
    <div className="page">
      <p>
        <a href={href(['agents', slug])}>‹ {slug}</a>
      </p>
      <div className="page-head">
        <h1>
          {c.agent}/{c.name}
        </h1>
        <span className="muted">
          {c.category} · v{c.version} · difficulty {c.difficulty}
        </span>
      </div>
      <p>{c.description}</p>
      <div className="grid-2 align-start">
        <section className="card" data-testid="run-command">
          <h2>Run</h2>
          <ErrorBanner error={error} />
          <SchemaForm
            idPrefix="cmd"
            schema={c.inputSchema}
            values={values}
            onChange={setValues}
            errors={errors}
            onSubmit={submit}
            submitLabel={`Run ${c.name}`}
            busy={busy}
            extra={
              <Field label="How">
                <select name="mode" value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
                  <option value="now">Now: wait for the answer</option>
                  <option value="background">In the background: queue it and follow its status</option>
                  <option value="task">As a task: follow it on the Runs page</option>
                </select>
              </Field>
            }
          />
        </section>
        <section className="card" data-testid="execution">
          <h2>Result</h2>
          {!execution && <p className="muted">Run the command to see its output here.</p>}
          {execution && <ExecutionResult execution={execution} />}
        </section>
      </div>
      <TemplateVersions slug={slug} command={command} />
    </div>
  );
}

function ExecutionResult({ execution: e }: { execution: ExecutionView }) {
  return (
    <div data-testid="execution-result" data-status={e.status}>
      <p>
        <Badge value={e.status} /> <span className="muted small">{e.id}</span>
      </p>
      <p className="muted small">
        {e.provider ? `${e.provider}/${e.model}` : ''}
        {e.offline ? ' (offline)' : ''} · {e.usage.inputTokens} in / {e.usage.outputTokens} out tokens
        {e.usage.estimated ? ' (estimated)' : ''}
        {e.durationMs !== undefined ? ` · ${e.durationMs} ms` : ''} · template v{e.templateVersion ?? '?'}
      </p>
      {e.error && (
        <p className="bad-text">
          {e.error.code}: {e.error.message}
        </p>
      )}
      {e.status === 'succeeded' && (
        <>
          <OutputView output={e.output} sections={e.sections} />
          <div className="step-feedback">
            <QualityScoreView executionId={e.id} />
            <RateOutput executionId={e.id} />
          </div>
        </>
      )}
    </div>
  );
}

function TemplateVersions({ slug, command }: { slug: string; command: string }) {
  const versions = useLoad(
    (signal) =>
      api<TemplateVersionList>(
        `/v1/agents/${encodeURIComponent(slug)}/commands/${encodeURIComponent(command)}/versions`,
        { signal },
      ),
    [slug, command],
  );
  const [open, setOpen] = useState<number | null>(null);
  const { items, pager } = usePaged(versions.data?.data ?? [], 5);
  return (
    <section className="card" data-testid="template-versions">
      <h2>Template versions</h2>
      <ErrorBanner error={versions.error} />
      {versions.data && (
        <p className="muted small">
          Labels:{' '}
          {Object.entries(versions.data.labels)
            .map(([l, v]) => `${l} → v${v}`)
            .join(', ')}
        </p>
      )}
      <div className="table-wrap">
        <table className="table compact">
          <thead>
            <tr>
              <th>Version</th>
              <th>Labels</th>
              <th>Source</th>
              <th>Created</th>
              <th>Note</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((v) => (
              <tr key={v.id}>
                <td data-label="Version">v{v.version}</td>
                <td data-label="Labels">{v.labels.join(', ') || '—'}</td>
                <td data-label="Source">{v.source}</td>
                <td data-label="Created">
                  {when(v.createdAt)} <span className="muted small">{v.createdBy}</span>
                </td>
                <td data-label="Note">{v.note ?? ''}</td>
                <td className="row-actions">
                  <button type="button" onClick={() => setOpen(open === v.version ? null : v.version)}>
                    {open === v.version ? 'Hide' : 'Template'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pager}
      {open !== null && (
        <pre className="template" data-testid="template-text">
          {versions.data?.data.find((v) => v.version === open)?.template}
        </pre>
      )}
      {versions.data && versions.data.history.length > 0 && (
        <details>
          <summary>Label history</summary>
          <ul>
            {versions.data.history.map((h, i) => (
              <li key={i}>
                {when(h.movedAt)}: {h.label} {h.fromVersion ? `v${h.fromVersion}` : '(new)'} → v{h.toVersion} by{' '}
                {h.movedBy}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
