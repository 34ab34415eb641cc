import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { addUsd, api, ApiProblem, money, streamEvents } from '../api';
import { Badge, ErrorBanner, Field, Loading, Notice, useAction, useCursor, useLoad, when } from '../components/common';
import { OutputView } from '../components/output-view';
import { QualityScoreView, RateOutput } from '../components/quality-and-rating';
import { fieldOfError, initialValues, SchemaForm, toInputs, type FormValues } from '../components/schema-form';
import { href, navigate, type Route } from '../router';
import { hasRole, useSession } from '../session';
import type { RunDetail, RunEvent, RunStep, RunSummary, UsageRecord, WorkflowSummary } from '../types';

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** Runs: recent workflow runs and tasks; a run's steps live (SSE), approvals, outputs, cost, quality, ratings. */
export function RunsPage({ route }: { route: Route }) {
  const id = route.path[1];
  if (id) return <RunView runId={id} />;
  return <RunList route={route} />;
}

function RunList({ route }: { route: Route }) {
  const { me } = useSession();
  const status = route.query.get('status') ?? '';
  const workflow = route.query.get('workflow') ?? '';
  const starting = route.query.get('start') ?? '';
  const { cursor, controls } = useCursor(`${status}|${workflow}`);
  const runs = useLoad(
    (signal) =>
      api<{ runs: RunSummary[]; nextCursor: string | null }>('/v1/runs', {
        query: { status, workflow, cursor, limit: 20 },
        signal,
      }),
    [status, workflow, cursor],
  );
  const workflows = useLoad((signal) => api<{ workflows: WorkflowSummary[] }>('/v1/workflows', { signal }), []);
  const mayStart = hasRole(me, 'admin', 'operator', 'member');
  const set = (k: string, v: string) => navigate(href(['runs'], { status, workflow, start: starting, [k]: v }));

  // Refresh the list while something is in flight.
  const active = runs.data?.runs.some((r) => r.status === 'queued' || r.status === 'running');
  useEffect(() => {
    if (!active) return;
    const t = setInterval(runs.reload, 3000);
    return () => clearInterval(t);
  }, [active, runs.reload]);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Runs</h1>
      </div>
      {mayStart && (
        <StartWorkflow
          workflows={workflows.data?.workflows ?? []}
          selected={starting}
          onSelect={(w) => set('start', w)}
          error={workflows.error}
        />
      )}
      <div className="toolbar">
        <Field label="Status">
          <select name="status" value={status} onChange={(e) => set('status', e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Workflow">
          <select name="workflow" value={workflow} onChange={(e) => set('workflow', e.target.value)}>
            <option value="">any</option>
            {(workflows.data?.workflows ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorBanner error={runs.error} />
      {runs.loading && !runs.data ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="runs-table">
            <thead>
              <tr>
                <th>Run</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Started</th>
                <th>Duration</th>
                <th>By</th>
              </tr>
            </thead>
            <tbody>
              {(runs.data?.runs ?? []).map((r) => (
                <tr key={r.id} data-run={r.id}>
                  <td data-label="Run">
                    <a href={href(['runs', r.id])}>{r.workflow.name}</a>
                    <div className="muted small">{r.id.slice(0, 8)}</div>
                  </td>
                  <td data-label="Kind">{r.kind}</td>
                  <td data-label="Status">
                    <Badge value={r.status} title={r.error ?? undefined} />
                  </td>
                  <td data-label="Started">{when(r.startedAt ?? r.createdAt)}</td>
                  <td data-label="Duration">{r.durationSeconds !== null ? `${r.durationSeconds} s` : '—'}</td>
                  <td data-label="By" className="muted small">
                    {r.userId === me.identity.subject ? 'you' : r.userId.slice(0, 8)}
                  </td>
                </tr>
              ))}
              {runs.data?.runs.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No runs yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          {controls(runs.data?.nextCursor)}
        </div>
      )}
    </div>
  );
}

function StartWorkflow({
  workflows,
  selected,
  onSelect,
  error: loadError,
}: {
  workflows: WorkflowSummary[];
  selected: string;
  onSelect: (id: string) => void;
  error: unknown;
}) {
  const workflow = workflows.find((w) => w.id === selected);
  const [values, setValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const { busy, error, run, setError } = useAction();
  useEffect(() => {
    setValues(initialValues(workflow?.inputs));
    setErrors({});
    setError(null);
  }, [workflow, setError]);

  const submit = () => {
    if (!workflow) return;
    const { inputs, errors: bad } = toInputs(workflow.inputs, values);
    setErrors(bad);
    if (Object.keys(bad).length) return;
    void run(async () => {
      try {
        const started = await api<RunSummary>(`/v1/workflows/${encodeURIComponent(workflow.id)}/runs`, {
          body: { inputs },
        });
        navigate(href(['runs', started.id]));
      } catch (e) {
        const field = e instanceof ApiProblem ? fieldOfError(e.field, workflow.inputs) : undefined;
        if (field) setErrors({ [field]: 'see the message above' });
        throw e;
      }
    });
  };

  return (
    <section className="card" data-testid="start-workflow">
      <h2>Start a workflow</h2>
      <ErrorBanner error={loadError} />
      <Field label="Workflow">
        <select name="start" value={selected} onChange={(e) => onSelect(e.target.value)}>
          <option value="">Choose a workflow…</option>
          {workflows.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name} (v{w.version})
            </option>
          ))}
        </select>
      </Field>
      {workflow && (
        <>
          <p className="muted">{workflow.description}</p>
          <ol className="step-chain">
            {workflow.steps.map((s) => (
              <li key={s.id}>{s.type === 'approval' ? `${s.id} (approval)` : `${s.id}: ${s.agent}/${s.command}`}</li>
            ))}
          </ol>
          <ErrorBanner error={error} />
          <SchemaForm
            idPrefix="wf"
            schema={workflow.inputs}
            values={values}
            onChange={setValues}
            errors={errors}
            onSubmit={submit}
            submitLabel="Start run"
            busy={busy}
          />
        </>
      )}
    </section>
  );
}

type LiveState = 'connecting' | 'live' | 'ended' | 'error';

function RunView({ runId }: { runId: string }) {
  const { me } = useSession();
  const run = useLoad((signal) => api<RunDetail>(`/v1/runs/${runId}`, { signal }), [runId]);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [live, setLive] = useState<LiveState>('connecting');
  const [streamError, setStreamError] = useState<unknown>(null);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [costs, setCosts] = useState<Map<string, string>>(new Map());
  const [costError, setCostError] = useState<unknown>(null);

  const scheduleRefetch = useCallback(() => {
    if (refetchTimer.current) return;
    refetchTimer.current = setTimeout(() => {
      refetchTimer.current = undefined;
      run.reload();
    }, 200);
  }, [run.reload]);

  useEffect(() => {
    const controller = new AbortController();
    setEvents([]);
    streamEvents(
      `/v1/runs/${runId}/events`,
      (e) => {
        if (e.event === 'end' || e.event === 'error') {
          scheduleRefetch();
          return;
        }
        try {
          const parsed = JSON.parse(e.data) as RunEvent;
          setEvents((list) => (list.some((x) => x.seq === parsed.seq) ? list : [...list, parsed]));
        } catch {
          /* a malformed frame: ignore it */
        }
        scheduleRefetch();
      },
      controller.signal,
      setLive,
    ).catch((e: unknown) => {
      setStreamError(e);
      setLive('error');
    });
    return () => {
      controller.abort();
      if (refetchTimer.current) clearTimeout(refetchTimer.current);
      refetchTimer.current = undefined;
    };
  }, [runId, scheduleRefetch]);

  const detail = run.data;
  const doneSteps = detail?.steps.filter((s) => s.executionId && s.status === 'succeeded').length ?? 0;

  // Cost from usage-metering's records of this run (the gateway's request id is the execution id).
  useEffect(() => {
    if (!detail?.createdAt) return;
    let stopped = false;
    const since = new Date(new Date(detail.createdAt).getTime() - 60_000).toISOString();
    api<{ records: UsageRecord[] }>('/v1/usage/records', {
      query: { since, userId: detail.userId, limit: 1000 },
    })
      .then((r) => {
        if (stopped) return;
        const m = new Map<string, string>();
        for (const rec of r.records)
          if (rec.runId === detail.id) m.set(rec.requestId, addUsd(m.get(rec.requestId), rec.costUsd ?? '0'));
        setCosts(m);
        setCostError(null);
      })
      .catch((e: unknown) => !stopped && setCostError(e));
    return () => {
      stopped = true;
    };
  }, [detail?.id, detail?.createdAt, detail?.userId, detail?.status, doneSteps]);

  const totalCost = useMemo(() => addUsd(...costs.values()), [costs]);

  if (run.error && !detail) return <ErrorBanner error={run.error} />;
  if (!detail) return <Loading />;
  return (
    <div className="page">
      <p>
        <a href="#/runs">‹ All runs</a>
      </p>
      <div className="page-head">
        <h1>
          {detail.workflow.name} <Badge value={detail.status} />
        </h1>
        <span className={`live live-${live}`} data-testid="live-state">
          {live === 'live'
            ? '● live'
            : live === 'ended'
              ? 'finished'
              : live === 'error'
                ? 'reconnecting…'
                : 'connecting…'}
        </span>
      </div>
      <ErrorBanner error={streamError} />
      <dl className="facts wide" data-testid="run-facts">
        <dt>Run</dt>
        <dd className="break">{detail.id}</dd>
        <dt>Kind</dt>
        <dd>
          {detail.kind} · {detail.workflow.id} v{detail.workflow.version}
        </dd>
        <dt>Started</dt>
        <dd>{when(detail.startedAt ?? detail.createdAt)}</dd>
        <dt>Finished</dt>
        <dd>{when(detail.finishedAt)}</dd>
        <dt>Tokens</dt>
        <dd>
          {detail.usage.inputTokens.toLocaleString()} in · {detail.usage.outputTokens.toLocaleString()} out
        </dd>
        <dt>Cost</dt>
        <dd data-testid="run-cost">{costError ? 'unavailable' : money(totalCost)}</dd>
        {detail.error && (
          <>
            <dt>Error</dt>
            <dd className="bad-text">
              {detail.errorStep ? `${detail.errorStep}: ` : ''}
              {detail.error}
            </dd>
          </>
        )}
      </dl>
      <ErrorBanner error={costError} />
      <h2>Steps</h2>
      <ol className="steps" data-testid="steps">
        {detail.steps.map((s) => (
          <StepCard
            key={s.id}
            step={s}
            cost={s.executionId ? costs.get(s.executionId) : undefined}
            runId={detail.id}
            canDecide={canDecide(s, me.identity.roles)}
            onDecided={run.reload}
            mine={detail.userId === me.identity.subject || hasRole(me, 'admin', 'operator')}
          />
        ))}
      </ol>
      {detail.outputs && Object.keys(detail.outputs).length > 0 && (
        <details className="card" data-testid="run-outputs">
          <summary>Outputs ({Object.keys(detail.outputs).length})</summary>
          {Object.entries(detail.outputs).map(([name, value]) => (
            <section key={name} className="output-section">
              <h4>{name.replace(/_/g, ' ')}</h4>
              <pre>{typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>
            </section>
          ))}
        </details>
      )}
      <details className="card">
        <summary>Events ({events.length})</summary>
        <ol className="events" data-testid="events">
          {events.map((e) => (
            <li key={e.seq}>
              <span className="muted small">{when(e.at)}</span> <strong>{e.kind}</strong>
              {e.stepId ? ` · ${e.stepId}` : ''}
              {e.detail ? ` · ${e.detail}` : ''}
            </li>
          ))}
        </ol>
      </details>
    </div>
  );
}

function canDecide(step: RunStep, roles: string[]): boolean {
  if (step.kind !== 'approval' || step.status !== 'waiting_approval') return false;
  const approvers = step.approval?.approvers ?? [];
  return approvers.length === 0 || roles.some((r) => approvers.includes(r));
}

function StepCard({
  step,
  cost,
  runId,
  canDecide: mayDecide,
  onDecided,
  mine,
}: {
  step: RunStep;
  cost?: string;
  runId: string;
  canDecide: boolean;
  onDecided: () => void;
  mine: boolean;
}) {
  const { me } = useSession();
  const [comment, setComment] = useState('');
  const { busy, error, run } = useAction();
  const decide = (decision: 'approve' | 'reject') =>
    void run(async () => {
      await api(`/v1/runs/${runId}/steps/${encodeURIComponent(step.id)}/${decision}`, {
        body: comment.trim() ? { comment: comment.trim() } : {},
      });
      onDecided();
    });
  return (
    <li className={`card step step-${step.status}`} data-step={step.id} data-status={step.status}>
      <div className="step-head">
        <strong>{step.id}</strong>
        <span className="muted">{step.kind === 'approval' ? 'approval' : `${step.agent}/${step.command}`}</span>
        <Badge value={step.status} />
        {step.attempt > 1 && (
          <span className="muted small">
            attempt {step.attempt}/{step.maxAttempts}
          </span>
        )}
      </div>
      {step.kind === 'agent' && (step.startedAt || step.executionId) && (
        <div className="muted small step-meta">
          {when(step.startedAt)}
          {step.finishedAt ? ` → ${when(step.finishedAt)}` : ''}
          {step.provider ? ` · ${step.provider}/${step.model}` : ''}
          {` · ${step.usage.inputTokens.toLocaleString()} in / ${step.usage.outputTokens.toLocaleString()} out tokens`}
          {cost !== undefined ? ` · ${money(cost)}` : ''}
        </div>
      )}
      {step.error && (
        <p className="bad-text">
          {step.error.code}: {step.error.message}
        </p>
      )}
      {step.kind === 'approval' && step.approval && (
        <div className="approval">
          {step.approval.prompt && <p>{step.approval.prompt}</p>}
          <p className="muted small">Approvers: {step.approval.approvers.join(', ') || 'anyone'}</p>
          {step.approval.decision && (
            <p data-testid="decision">
              {/^approve/.test(step.approval.decision) ? 'Approved' : 'Rejected'} by{' '}
              {step.approval.decidedBy === me.identity.subject ? 'you' : step.approval.decidedBy}
              {step.approval.comment ? `: “${step.approval.comment}”` : ''}
            </p>
          )}
          {step.status === 'waiting_approval' && !mayDecide && (
            <Notice kind="info">Waiting for {step.approval.approvers.join(' or ')} to decide.</Notice>
          )}
          {mayDecide && (
            <div className="decide" data-testid={`decide-${step.id}`}>
              <input
                placeholder="Comment (optional)"
                aria-label="Decision comment"
                value={comment}
                onChange={(e) => setComment(e.target.value)}
              />
              <button type="button" className="primary" disabled={busy} onClick={() => decide('approve')}>
                Approve
              </button>
              <button type="button" className="danger" disabled={busy} onClick={() => decide('reject')}>
                Reject
              </button>
            </div>
          )}
          <ErrorBanner error={error} />
        </div>
      )}
      {step.kind === 'agent' && step.status === 'succeeded' && (
        <details className="step-output" open>
          <summary>Output</summary>
          <OutputView output={step.output} sections={step.sections} />
          {step.executionId && (
            <div className="step-feedback">
              <QualityScoreView executionId={step.executionId} />
              {mine && <RateOutput executionId={step.executionId} />}
            </div>
          )}
        </details>
      )}
    </li>
  );
}
