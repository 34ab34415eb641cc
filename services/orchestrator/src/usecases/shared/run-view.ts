import type { CompiledWorkflow } from '../../definitions/compiled-workflow';
import type { RunEventRow, RunRow, StepRow } from '../../repositories/rows';
import { priorityName } from './validate-command';

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export interface RunSummaryView {
  id: string;
  kind: RunRow['kind'];
  workflow: { id: string; name: string; version: number };
  status: RunRow['status'];
  userId: string;
  teamId: string | null;
  taskId: string | null;
  priority: string;
  error: string | null;
  errorStep: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationSeconds: number | null;
}

export function runSummaryView(run: RunRow): RunSummaryView {
  const end = run.finished_at ? new Date(run.finished_at) : undefined;
  return {
    id: run.id,
    kind: run.kind,
    workflow: { id: run.workflow_id, name: run.workflow_name, version: run.workflow_version },
    status: run.status,
    userId: run.user_id,
    teamId: run.team_id,
    taskId: run.task_id,
    priority: priorityName(run.priority),
    error: run.error,
    errorStep: run.error_step,
    createdAt: iso(run.created_at),
    startedAt: iso(run.started_at),
    finishedAt: iso(run.finished_at),
    durationSeconds:
      run.started_at && end ? Math.round((end.getTime() - new Date(run.started_at).getTime()) / 10) / 100 : null,
  };
}

export function stepView(step: StepRow, def?: CompiledWorkflow) {
  const cs = def?.byId.get(step.step_id);
  return {
    id: step.step_id,
    kind: step.kind,
    agent: step.agent,
    command: step.command,
    dependsOn: cs?.dependsOn ?? [],
    status: step.status,
    attempt: step.attempt,
    maxAttempts: step.max_attempts,
    queuedAt: iso(step.queued_at),
    startedAt: iso(step.started_at),
    finishedAt: iso(step.finished_at),
    nextAttemptAt: iso(step.next_attempt_at),
    error: step.error_code ? { code: step.error_code, message: step.error_message } : null,
    detail: step.detail,
    inputs: step.inputs,
    output: step.output,
    sections: step.sections,
    executionId: step.execution_id,
    provider: step.provider,
    model: step.model,
    usage: { inputTokens: Number(step.input_tokens ?? 0), outputTokens: Number(step.output_tokens ?? 0) },
    ...(step.kind === 'approval'
      ? {
          approval: {
            prompt: cs?.prompt ?? null,
            approvers: step.escalated ? ['admin', 'operator'] : [...(cs?.approvers ?? [])],
            escalated: step.escalated,
            decidedBy: step.decided_by,
            decision: step.decision,
            comment: step.decision_comment,
          },
        }
      : {}),
  };
}

export function runView(run: RunRow, steps: StepRow[], def?: CompiledWorkflow) {
  const usage = steps.reduce(
    (acc, s) => ({
      inputTokens: acc.inputTokens + Number(s.input_tokens ?? 0),
      outputTokens: acc.outputTokens + Number(s.output_tokens ?? 0),
    }),
    { inputTokens: 0, outputTokens: 0 },
  );
  return {
    ...runSummaryView(run),
    inputs: run.inputs,
    outputs: run.outputs,
    deadlineAt: iso(run.deadline_at),
    cancelledBy: run.cancelled_by,
    usage,
    steps: steps.map((s) => stepView(s, def)),
  };
}

export interface RunEventView {
  seq: string;
  runId: string;
  kind: string;
  stepId: string | null;
  attempt: number | null;
  detail: string | null;
  at: string | null;
  [extra: string]: unknown;
}

export function runEventView(e: RunEventRow): RunEventView {
  return {
    ...(e.data ?? {}),
    seq: String(e.seq),
    runId: e.run_id,
    kind: e.kind,
    stepId: e.step_id,
    attempt: e.attempt,
    detail: e.detail,
    at: iso(e.at),
  };
}
