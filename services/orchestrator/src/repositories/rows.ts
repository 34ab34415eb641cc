/** Rows of the orchestrator's tables, as the repositories return them. */

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_RUN: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export type StepStatus =
  'pending' | 'queued' | 'running' | 'retrying' | 'waiting_approval' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export const TERMINAL_STEP: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

export type RunKind = 'task' | 'workflow';

export interface RunRow {
  id: string;
  seq: string;
  kind: RunKind;
  workflow_id: string;
  workflow_version: number;
  workflow_name: string;
  definition: unknown;
  user_id: string;
  team_id: string | null;
  task_id: string | null;
  priority: number;
  status: RunStatus;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  error: string | null;
  error_step: string | null;
  source: string;
  source_id: string;
  timeout_seconds: number | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  deadline_at: Date | null;
  cancelled_by: string | null;
  /** The W3C trace context the run was created in (null: none). */
  traceparent: string | null;
  tracestate: string | null;
}

export interface StepRow {
  run_id: string;
  step_id: string;
  position: number;
  kind: 'agent' | 'approval';
  agent: string | null;
  command: string | null;
  user_id: string;
  priority: number;
  status: StepStatus;
  attempt: number;
  max_attempts: number;
  attempt_timeout_seconds: number;
  inputs: Record<string, unknown> | null;
  output: string | null;
  sections: Record<string, unknown> | null;
  error_code: string | null;
  error_message: string | null;
  detail: string | null;
  queued_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  next_attempt_at: Date | null;
  escalated: boolean;
  decided_by: string | null;
  decision: string | null;
  decision_comment: string | null;
  execution_id: string | null;
  provider: string | null;
  model: string | null;
  input_tokens: string;
  output_tokens: string;
}

export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'timed_out' | 'abandoned';

export interface AttemptRow {
  idempotency_key: string;
  execution_id: string;
  run_id: string;
  step_id: string;
  attempt: number;
  agent: string;
  user_id: string;
  status: AttemptStatus;
  holds_slot: boolean;
  slot_release_at: Date | null;
  requested_at: Date;
  completed_at: Date | null;
  /** The deadline its execution request carries. */
  deadline_at: Date | null;
  /** When it stopped counting against its agent's limit (null while it holds the slot). */
  slot_released_at: Date | null;
  error_code: string | null;
  error_message: string | null;
}

export interface RunEventRow {
  seq: string;
  run_id: string;
  kind: string;
  step_id: string | null;
  attempt: number | null;
  detail: string | null;
  data: Record<string, unknown> | null;
  at: Date;
}

export type TimerKind = 'retry' | 'attempt_timeout' | 'approval_timeout' | 'run_timeout';

export interface TimerRow {
  id: string;
  run_id: string;
  step_id: string;
  kind: TimerKind;
  attempt: number;
  due_at: Date;
}

export interface DefinitionRow {
  id: string;
  version: number;
  name: string;
  description: string;
  definition: Record<string, unknown>;
  content_hash: string;
  source: string;
  created_by: string | null;
  created_at: Date;
}

/** The jsonb columns of runs and steps (cast in updates). */
export const RUN_JSON_COLUMNS: ReadonlySet<string> = new Set(['definition', 'inputs', 'outputs']);
export const STEP_JSON_COLUMNS: ReadonlySet<string> = new Set(['inputs', 'sections']);

/** JSON for a jsonb parameter (node-postgres would turn arrays into Postgres arrays). */
export function jsonParam(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** Builds `SET a = $n, b = $n+1` for an update; jsonb columns are cast. */
export function setClause(
  patch: Record<string, unknown>,
  jsonColumns: ReadonlySet<string>,
  firstParam: number,
): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (!/^[a-z_]+$/.test(column)) throw new Error(`bad column ${column}`);
    params.push(jsonColumns.has(column) ? jsonParam(value) : value);
    parts.push(`${column} = $${firstParam + params.length - 1}${jsonColumns.has(column) ? '::jsonb' : ''}`);
  }
  return { sql: parts.join(', '), params };
}
