import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { TraceCarrier } from '../tracing/trace-context';

export type ExecutionKind = 'command' | 'chat' | 'embedding';
export type ExecutionState = 'queued' | 'running' | 'succeeded' | 'failed';

/** What a queued command execution runs once a worker picks it up. */
export interface QueuedCommandRequest {
  inputs: Record<string, unknown>;
  version?: number;
  label?: string;
  provider?: string;
  model?: string;
  maxTokens?: number;
  knowledgeTopK?: number;
  /** The caller's roles as they were when the request was accepted. */
  roles?: string[];
  /** ISO time after which it fails as `timeout` instead of starting. */
  deadline?: string;
}

export interface ExecutionRecord {
  id: string;
  kind: ExecutionKind;
  status: ExecutionState;
  idempotencyKey?: string;
  userId: string;
  teamId?: string;
  via: string;
  agent?: string;
  command?: string;
  templateVersion?: number;
  templateSelector?: string;
  runId?: string;
  stepId?: string;
  attempt?: number;
  provider?: string;
  model?: string;
  offline: boolean;
  streamed: boolean;
  request?: QueuedCommandRequest;
  prompt?: string;
  output?: string;
  sections?: Record<string, string>;
  knowledgeSources?: unknown[];
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  usageEstimated: boolean;
  reservationId?: string;
  errorCode?: string;
  errorMessage?: string;
  retryable?: boolean;
  durationMs?: number;
  createdAt?: string;
  startedAt?: string;
  completedAt?: string;
  /** The trace context a queued execution was accepted in; its worker runs in that trace. */
  traceContext?: TraceCarrier;
  /** The claim of the worker running it (set by `claim`; never written by `writeFinished`). */
  leaseToken?: string;
}

interface Row {
  id: string;
  kind: ExecutionKind;
  status: ExecutionState;
  idempotency_key: string | null;
  user_id: string;
  team_id: string | null;
  via: string;
  agent: string | null;
  command: string | null;
  template_version: number | null;
  template_selector: string | null;
  run_id: string | null;
  step_id: string | null;
  attempt: number | null;
  provider: string | null;
  model: string | null;
  offline: boolean;
  streamed: boolean;
  request: QueuedCommandRequest | null;
  prompt: string | null;
  output: string | null;
  sections: Record<string, string> | null;
  knowledge_sources: unknown[] | null;
  input_tokens: string | number;
  output_tokens: string | number;
  cached_input_tokens: string | number;
  usage_estimated: boolean;
  reservation_id: string | null;
  error_code: string | null;
  error_message: string | null;
  retryable: boolean | null;
  duration_ms: number | null;
  created_at: Date | string;
  started_at: Date | string | null;
  completed_at: Date | string | null;
  trace_context: TraceCarrier | null;
  lease_token?: string | null;
}

const iso = (v: Date | string | null): string | undefined =>
  v === null ? undefined : v instanceof Date ? v.toISOString() : new Date(v).toISOString();
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function fromRow(r: Row): ExecutionRecord {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    idempotencyKey: opt(r.idempotency_key),
    userId: r.user_id,
    teamId: opt(r.team_id),
    via: r.via,
    agent: opt(r.agent),
    command: opt(r.command),
    templateVersion: opt(r.template_version),
    templateSelector: opt(r.template_selector),
    runId: opt(r.run_id),
    stepId: opt(r.step_id),
    attempt: opt(r.attempt),
    provider: opt(r.provider),
    model: opt(r.model),
    offline: r.offline,
    streamed: r.streamed,
    request: opt(r.request),
    prompt: opt(r.prompt),
    output: opt(r.output),
    sections: opt(r.sections),
    knowledgeSources: opt(r.knowledge_sources),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    cachedInputTokens: Number(r.cached_input_tokens),
    usageEstimated: r.usage_estimated,
    reservationId: opt(r.reservation_id),
    errorCode: opt(r.error_code),
    errorMessage: opt(r.error_message),
    retryable: opt(r.retryable),
    durationMs: opt(r.duration_ms),
    createdAt: iso(r.created_at),
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    traceContext: opt(r.trace_context),
    leaseToken: opt(r.lease_token ?? null),
  };
}

/** The record as a row for jsonb_to_recordset (snake_case, nulls for absent values). */
function toRow(e: ExecutionRecord): Record<string, unknown> {
  return {
    id: e.id,
    kind: e.kind,
    status: e.status,
    idempotency_key: e.idempotencyKey ?? null,
    user_id: e.userId,
    team_id: e.teamId ?? null,
    via: e.via,
    agent: e.agent ?? null,
    command: e.command ?? null,
    template_version: e.templateVersion ?? null,
    template_selector: e.templateSelector ?? null,
    run_id: e.runId ?? null,
    step_id: e.stepId ?? null,
    attempt: e.attempt ?? null,
    provider: e.provider ?? null,
    model: e.model ?? null,
    offline: e.offline,
    streamed: e.streamed,
    request: e.request ?? null,
    prompt: e.prompt ?? null,
    output: e.output ?? null,
    sections: e.sections ?? null,
    knowledge_sources: e.knowledgeSources ?? null,
    input_tokens: e.inputTokens,
    output_tokens: e.outputTokens,
    cached_input_tokens: e.cachedInputTokens,
    usage_estimated: e.usageEstimated,
    reservation_id: e.reservationId ?? null,
    error_code: e.errorCode ?? null,
    error_message: e.errorMessage ?? null,
    retryable: e.retryable ?? null,
    duration_ms: e.durationMs ?? null,
    started_at: e.startedAt ?? null,
    completed_at: e.completedAt ?? null,
    trace_context: e.traceContext ?? null,
  };
}

const COLUMNS = `id uuid, kind text, status text, idempotency_key text, user_id text, team_id text, via text,
  agent text, command text, template_version integer, template_selector text, run_id text, step_id text,
  attempt integer, provider text, model text, offline boolean, streamed boolean, request jsonb, prompt text,
  output text, sections jsonb, knowledge_sources jsonb, input_tokens bigint, output_tokens bigint,
  cached_input_tokens bigint, usage_estimated boolean, reservation_id text, error_code text, error_message text,
  retryable boolean, duration_ms integer, started_at timestamptz, completed_at timestamptz, trace_context jsonb`;

const NAMES = `id, kind, status, idempotency_key, user_id, team_id, via, agent, command, template_version,
  template_selector, run_id, step_id, attempt, provider, model, offline, streamed, request, prompt, output,
  sections, knowledge_sources, input_tokens, output_tokens, cached_input_tokens, usage_estimated, reservation_id,
  error_code, error_message, retryable, duration_ms, started_at, completed_at, trace_context`;

/** Columns a finished write replaces (the trace a queued execution was accepted in stays). */
const UPDATES = NAMES.split(',')
  .map((n) => n.trim())
  .filter((n) => n !== 'id' && n !== 'idempotency_key' && n !== 'trace_context')
  .map((n) => `${n} = EXCLUDED.${n}`)
  .join(', ');

/** The executions table (SQL through the service's database or the caller's transaction). */
@Injectable()
export class ExecutionRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>) {}

  async get(id: string, ex: SqlExecutor = this.ctx.db): Promise<ExecutionRecord | undefined> {
    const rows = await ex.query<Row>(`SELECT * FROM executions WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async byIdempotencyKey(key: string, ex: SqlExecutor = this.ctx.db): Promise<ExecutionRecord | undefined> {
    const rows = await ex.query<Row>(`SELECT * FROM executions WHERE idempotency_key = $1`, [key]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** Inserts a queued execution unless its idempotency key exists already; true when inserted. */
  async insertQueued(e: ExecutionRecord, ex: SqlExecutor = this.ctx.db): Promise<boolean> {
    const rows = await ex.query(
      `INSERT INTO executions (${NAMES})
       SELECT ${NAMES} FROM jsonb_to_recordset($1::jsonb) AS x(${COLUMNS})
       ON CONFLICT DO NOTHING RETURNING id`,
      [JSON.stringify([toRow(e)])],
    );
    return rows.length > 0;
  }

  /**
   * Writes finished (or failed) executions in one statement: new rows are inserted, queued/running
   * ones completed; rows already finished are left alone. Returns the ids actually written.
   */
  async writeFinished(records: ExecutionRecord[], ex: SqlExecutor): Promise<Set<string>> {
    if (records.length === 0) return new Set();
    const rows = await ex.query<{ id: string }>(
      `INSERT INTO executions (${NAMES})
       SELECT ${NAMES} FROM jsonb_to_recordset($1::jsonb) AS x(${COLUMNS})
       ON CONFLICT (id) DO UPDATE SET ${UPDATES}, lease_until = NULL
       WHERE executions.status NOT IN ('succeeded', 'failed')
       RETURNING id`,
      [JSON.stringify(records.map(toRow))],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Takes a queued execution (or one whose worker's lease ran out) for this worker; undefined when taken. */
  async claim(id: string, leaseSeconds: number, ex: SqlExecutor = this.ctx.db): Promise<ExecutionRecord | undefined> {
    const rows = await ex.query<Row>(
      `UPDATE executions
          SET status = 'running', started_at = COALESCE(started_at, now()),
              lease_until = now() + make_interval(secs => $2), lease_token = $3
        WHERE id = $1 AND (status = 'queued' OR (status = 'running' AND lease_until < now()))
        RETURNING *`,
      [id, leaseSeconds, randomUUID()],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /**
   * Extends the lease of a running execution this worker still holds (its claim's token); false when
   * it finished meanwhile or another worker claimed it after the lease ran out.
   */
  async renew(id: string, leaseToken: string, leaseSeconds: number, ex: SqlExecutor = this.ctx.db): Promise<boolean> {
    const rows = await ex.query(
      `UPDATE executions SET lease_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND status = 'running' AND lease_token = $2
        RETURNING id`,
      [id, leaseToken, leaseSeconds],
    );
    return rows.length > 0;
  }

  /** Queued executions and running ones whose lease ran out (a crashed worker), oldest first. */
  async pending(limit: number, ex: SqlExecutor = this.ctx.db): Promise<string[]> {
    const rows = await ex.query<{ id: string }>(
      `SELECT id FROM executions
        WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
        ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }
}
