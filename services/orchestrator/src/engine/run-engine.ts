import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { JsonObject } from '@bufbuild/protobuf';
import { evaluateCondition, resolveInputs, type WorkflowReference } from '@hishamos/catalog';
import { Topics, WorkflowEventKind } from '@hishamos/contracts';
import { SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { AgentCatalog } from '../catalog/agent-catalog';
import { OrchestratorSettings } from '../config/orchestrator.settings';
import {
  backoffDelayMs,
  shouldRetry,
  type CompiledStep,
  type CompiledWorkflow,
} from '../definitions/compiled-workflow';
import { DefinitionStore } from '../definitions/definition-store';
import { OrchestratorMetrics } from '../metrics/orchestrator-metrics';
import { AttemptRepository } from '../repositories/attempt.repository';
import { RunEventRepository } from '../repositories/run-event.repository';
import { RunRepository, type RunEnd } from '../repositories/run.repository';
import { TERMINAL_STEP, type AttemptRow, type RunRow, type StepRow, type TimerRow } from '../repositories/rows';
import type { DispatchableStep } from '../repositories/scheduler.repository';
import { TimerRepository } from '../repositories/timer.repository';
import { WriteBatch } from '../repositories/write-batch';
import { RunEventNotifier } from './run-event-notifier';
import { withoutActiveSpan } from './run-trace';
import { Work } from './work';

/** What a run's events need to know about it. */
export type RunRef = Pick<
  RunRow,
  'id' | 'workflow_id' | 'workflow_name' | 'workflow_version' | 'user_id' | 'task_id' | 'traceparent' | 'tracestate'
>;

export type RunEventKind =
  | 'queued'
  | 'started'
  | 'step_started'
  | 'step_succeeded'
  | 'step_failed'
  | 'step_retrying'
  | 'step_waiting_approval'
  | 'step_skipped'
  | 'completed'
  | 'failed'
  | 'cancelled';

const KIND: Partial<Record<RunEventKind, WorkflowEventKind>> = {
  started: WorkflowEventKind.STARTED,
  step_started: WorkflowEventKind.STEP_STARTED,
  step_succeeded: WorkflowEventKind.STEP_SUCCEEDED,
  step_failed: WorkflowEventKind.STEP_FAILED,
  step_retrying: WorkflowEventKind.STEP_RETRYING,
  step_waiting_approval: WorkflowEventKind.STEP_WAITING_APPROVAL,
  step_skipped: WorkflowEventKind.STEP_SKIPPED,
  completed: WorkflowEventKind.COMPLETED,
  failed: WorkflowEventKind.FAILED,
  cancelled: WorkflowEventKind.CANCELLED,
};

export interface ExecutionResult {
  succeeded: boolean;
  output: string;
  sections: Record<string, unknown>;
  errorCode: string;
  errorMessage: string;
  retryable: boolean;
  executionId: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/**
 * The span (a child of the run's trace context) an event of the run is published in: a step's execution request
 * and its STEP_STARTED share "schedule step <id>"; the end of the run is "complete run" / "fail run" / "cancel run".
 */
function spanName(kind: RunEventKind, stepId?: string): string {
  switch (kind) {
    case 'started':
      return 'start run';
    case 'step_started':
      return `schedule step ${stepId}`;
    case 'step_succeeded':
    case 'step_failed':
    case 'step_retrying':
      return `record step ${stepId}`;
    case 'step_waiting_approval':
      return `await approval ${stepId}`;
    case 'step_skipped':
      return `skip step ${stepId}`;
    case 'completed':
      return 'complete run';
    case 'failed':
      return 'fail run';
    case 'cancelled':
      return 'cancel run';
    default:
      return 'advance run';
  }
}

interface Failure {
  code: string;
  message: string;
  retryable: boolean;
}

function toJsonObject(value: Record<string, unknown>): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

function seconds(from: Date | string | null, to: Date): number {
  return from ? (to.getTime() - new Date(from).getTime()) / 1000 : 0;
}

/**
 * The workflow state machine. Every method runs inside the caller's transaction (`Work`) with the run's
 * row locked (lock order: run, steps, attempts, timers), so two replicas never advance one run at once;
 * effects (execution requests, workflow events, timers) are written in the same transaction.
 */
@Injectable()
export class RunEngine {
  private wakeScheduler: (queuedWork: boolean) => void = () => undefined;
  /** Which replica dispatched a step (recorded in its step_started event). */
  private readonly instance = `${hostname()}:${process.pid}`;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly runs: RunRepository,
    private readonly attempts: AttemptRepository,
    private readonly timers: TimerRepository,
    private readonly runEvents: RunEventRepository,
    private readonly definitions: DefinitionStore,
    private readonly catalog: AgentCatalog,
    private readonly metrics: OrchestratorMetrics,
    private readonly settings: OrchestratorSettings,
    private readonly notifier: RunEventNotifier,
  ) {}

  /** Called after a commit that queued work or freed slots (the scheduler loop sets it). */
  onWake(wake: (queuedWork: boolean) => void): void {
    this.wakeScheduler = wake;
  }

  /** Tells SSE readers of these runs to look (after a commit that added events of them). */
  notifyRuns(runIds: Iterable<string>): void {
    this.notifier.notify(runIds);
  }

  /** Writes the steps made ready in this transaction (status queued, resolved inputs). */
  async flushQueued(w: Work): Promise<void> {
    if (w.queued.length === 0) return;
    await this.runs.markQueued(w.tx, w.queued, w.now);
    w.queued.length = 0;
  }

  /** Writes what the transaction produced and registers its after-commit callbacks. */
  async flush(w: Work): Promise<void> {
    // Row writes in one statement: steps made ready, run events, timers, attempts.
    const batch = new WriteBatch();
    this.runs.markQueuedInto(batch, w.queued, w.now);
    this.runEvents.insertManyInto(batch, w.runEvents);
    this.timers.insertManyInto(batch, w.timers);
    this.attempts.insertManyInto(batch, w.attempts, w.attemptsRequestedAt ?? w.now);
    this.runs.finishManyInto(batch, w.endedRuns);
    await batch.run(w.tx);
    w.queued.length = 0;
    w.attempts.length = 0;
    w.endedRuns.length = 0;
    if (w.runEvents.length > 0) {
      const runIds = new Set(w.runEvents.map((e) => e.run_id));
      w.onCommit(() => this.notifier.notify(runIds));
    }
    if (w.workflowEvents.length > 0 || w.executions.length > 0) {
      // Each event carries the trace headers of its run's span; with no span active, the outbox keeps them.
      const progressed = w.workflowEvents.map((e) => e.payload);
      const progressedOpts = w.workflowEvents.map((e) => ({ key: e.run.id, headers: w.spans.headers(e.run, e.span) }));
      const requested = w.executions.map((e) => e.payload);
      const requestedOpts = w.executions.map((e) => ({
        key: e.run.id,
        id: e.payload.executionId,
        headers: w.spans.headers(e.run, e.span),
      }));
      try {
        await withoutActiveSpan(async () => {
          if (progressed.length > 0)
            await this.ctx.outbox.addMany(w.tx, Topics.WorkflowProgressed, progressed, progressedOpts);
          if (requested.length > 0)
            await this.ctx.outbox.addMany(w.tx, Topics.ExecutionRequested, requested, requestedOpts);
        });
      } finally {
        w.spans.end();
      }
      if (progressed.length > 0) {
        const kinds = w.runEvents.filter((e) => KIND[e.kind as RunEventKind] !== undefined).map((e) => e.kind);
        w.onCommit(() => kinds.forEach((k) => this.metrics.eventPublished(k)));
      }
    }
    w.registerCommitHooks((queued) => this.wakeScheduler(queued));
    w.runEvents.length = 0;
    w.workflowEvents.length = 0;
    w.executions.length = 0;
    w.timers.length = 0;
  }

  emit(
    w: Work,
    run: RunRef,
    kind: RunEventKind,
    opts: {
      stepId?: string;
      attempt?: number;
      detail?: string;
      error?: string;
      outputs?: Record<string, unknown>;
      data?: Record<string, unknown>;
    } = {},
  ): void {
    w.runEvents.push({
      run_id: run.id,
      kind,
      step_id: opts.stepId ?? null,
      attempt: opts.attempt ?? null,
      detail: opts.detail ?? opts.error ?? null,
      data: {
        ...(opts.data ?? {}),
        ...(opts.error ? { error: opts.error } : {}),
        ...(opts.outputs ? { outputs: opts.outputs } : {}),
      },
      at: w.now,
    });
    const protoKind = KIND[kind];
    if (protoKind === undefined) return;
    w.workflowEvents.push({
      run,
      span: spanName(kind, opts.stepId),
      payload: {
        runId: run.id,
        workflowId: run.workflow_id,
        workflowName: run.workflow_name,
        workflowVersion: run.workflow_version,
        kind: protoKind,
        stepId: opts.stepId ?? '',
        attempt: opts.attempt ?? 0,
        userId: run.user_id,
        error: opts.error ?? '',
        outputs: opts.outputs ? toJsonObject(opts.outputs) : undefined,
        at: timestampFromDate(w.now),
        taskId: run.task_id ?? '',
        detail: opts.detail ?? '',
      },
    });
  }

  private async setStep(w: Work, step: StepRow, patch: Partial<StepRow>): Promise<void> {
    await this.runs.updateStep(w.tx, step.run_id, step.step_id, patch);
    Object.assign(step, patch);
  }

  /** How long an abandoned attempt keeps its slot after its deadline (or now, if later) without a result. */
  private get grace(): number {
    return this.settings.ORCHESTRATOR_ABANDONED_SLOT_SECONDS;
  }

  /** A run the scheduler has just admitted (marked running with its deadline): timer, STARTED, first steps. */
  async startRun(w: Work, run: RunRow, steps?: StepRow[]): Promise<void> {
    const def = await this.definitions.forRun(w.tx, run);
    w.timer(run.id, '', 'run_timeout', 0, new Date(run.deadline_at ?? w.now));
    this.emit(w, run, 'started', { data: { kind: run.kind, version: run.workflow_version } });
    await this.advance(w, run, def, steps);
  }

  /**
   * Moves every pending step whose dependencies are done: skipped (condition false, or every dependency
   * skipped), waiting for approval, or queued for an agent slot with its inputs resolved and checked.
   * Completes the run when every step is done.
   */
  async advance(w: Work, run: RunRow, def?: CompiledWorkflow, loaded?: StepRow[]): Promise<void> {
    def ??= await this.definitions.forRun(w.tx, run);
    const steps = loaded ?? (await this.runs.steps(w.tx, run.id));
    const byId = new Map(steps.map((s) => [s.step_id, s]));
    const resolve = (ref: WorkflowReference): unknown => {
      if (ref.kind === 'input') return run.inputs[ref.name];
      if (ref.kind === 'output') return byId.get(ref.step)?.output ?? undefined;
      if (ref.kind === 'section') return byId.get(ref.step)?.sections?.[ref.key];
      return undefined;
    };
    let changed = true;
    while (changed) {
      changed = false;
      for (const cs of def.steps) {
        const row = byId.get(cs.id);
        if (!row || row.status !== 'pending') continue;
        const deps = cs.dependsOn.map((d) => byId.get(d));
        if (deps.some((d) => !d || !TERMINAL_STEP.has(d.status))) continue;
        if (deps.some((d) => d!.status === 'failed' || d!.status === 'cancelled')) continue;
        changed = true;
        let skip: string | undefined;
        if (deps.length > 0 && deps.every((d) => d!.status === 'skipped')) {
          skip = `every step it depends on was skipped (${cs.dependsOn.join(', ')})`;
        } else if (cs.when && !evaluateCondition(cs.when, resolve)) {
          skip = `condition is false: ${cs.whenText}`;
        }
        if (skip) {
          await this.setStep(w, row, { status: 'skipped', finished_at: w.now, detail: skip });
          this.emit(w, run, 'step_skipped', { stepId: cs.id, detail: skip });
          continue;
        }
        if (cs.kind === 'approval') {
          await this.waitForApproval(w, run, cs, row);
          continue;
        }
        const inputs = resolveInputs(cs.inputs, resolve);
        const problems = this.catalog.validateCommandInputs(cs.agent!, cs.command!, inputs, `steps.${cs.id}.inputs`);
        if (problems.length > 0) {
          const message = problems.map((p) => `${p.field} ${p.reason}`).join('; ');
          await this.setStep(w, row, {
            status: 'failed',
            finished_at: w.now,
            error_code: 'invalid_input',
            error_message: message,
            inputs,
          });
          this.emit(w, run, 'step_failed', { stepId: cs.id, error: `invalid_input: ${message}` });
          await this.failRun(w, run, cs.id, `step ${cs.id} failed: invalid_input: ${message}`);
          return;
        }
        // Written in one statement for the whole transaction (flushQueued), only if still pending then.
        Object.assign(row, { status: 'queued', inputs, queued_at: w.now });
        w.queued.push({ run_id: row.run_id, step_id: row.step_id, inputs });
        w.queuedWork = true;
      }
    }
    if (steps.every((s) => TERMINAL_STEP.has(s.status))) {
      if (steps.every((s) => s.status === 'succeeded' || s.status === 'skipped'))
        await this.completeRun(w, run, def, byId);
    }
  }

  private async waitForApproval(w: Work, run: RunRow, cs: CompiledStep, row: StepRow): Promise<void> {
    await this.setStep(w, row, { status: 'waiting_approval', started_at: w.now, detail: cs.prompt ?? null });
    const timeoutAt = cs.approvalTimeoutSeconds
      ? new Date(w.now.getTime() + cs.approvalTimeoutSeconds * 1000)
      : undefined;
    if (timeoutAt) w.timer(run.id, cs.id, 'approval_timeout', 0, timeoutAt);
    this.emit(w, run, 'step_waiting_approval', {
      stepId: cs.id,
      detail: cs.prompt,
      data: {
        approvers: cs.approvers,
        prompt: cs.prompt,
        timeoutAt: timeoutAt?.toISOString(),
        onTimeout: cs.onTimeout,
      },
    });
  }

  private async completeRun(w: Work, run: RunRow, def: CompiledWorkflow, byId: Map<string, StepRow>): Promise<void> {
    let outputs: Record<string, unknown>;
    if (run.kind === 'task') {
      const step = [...byId.values()][0];
      outputs = { output: step?.output ?? '', sections: step?.sections ?? {} };
    } else {
      outputs = resolveInputs(def.outputs, (ref) => {
        if (ref.kind === 'input') return run.inputs[ref.name];
        if (ref.kind === 'output') return byId.get(ref.step)?.output ?? undefined;
        if (ref.kind === 'section') return byId.get(ref.step)?.sections?.[ref.key];
        return undefined;
      });
    }
    this.end(w, run, { id: run.id, status: 'succeeded', outputs });
    this.emit(w, run, 'completed', { outputs, data: { seconds: seconds(run.started_at, w.now) } });
    this.finished(w, run, 'succeeded');
  }

  /**
   * The run ends: written at flush with its timers dropped, finished_at stamped by the database clock there
   * (inside the transaction that frees its slot). Nothing in the transaction reads the run row back.
   */
  private end(w: Work, run: RunRow, end: RunEnd): void {
    w.endedRuns.push(end);
    Object.assign(run, { ...end, finished_at: w.now });
  }

  private finished(w: Work, run: RunRow, status: string): void {
    w.wakeScheduler = true;
    if (!run.started_at) return;
    const label = run.kind === 'task' ? 'task' : run.workflow_id;
    const took = seconds(run.started_at, w.now);
    w.onCommit(() => this.metrics.runFinished(label, status, took));
  }

  /** Fails the run: its open steps end, attempts in flight are abandoned, FAILED carries the name and error. */
  async failRun(w: Work, run: RunRow, stepId: string | null, error: string): Promise<void> {
    await this.runs.cancelOpenSteps(w.tx, run.id, w.now, `run failed: ${error}`);
    await this.attempts.abandon(w.tx, run.id, undefined, 'abandoned', this.grace);
    this.end(w, run, { id: run.id, status: 'failed', error, error_step: stepId });
    this.emit(w, run, 'failed', { stepId: stepId ?? undefined, error });
    this.finished(w, run, 'failed');
  }

  /** Cancels a queued or running run: queued steps never start; running ones are told through CANCELLED. */
  async cancelRun(w: Work, run: RunRow, by: string, reason?: string): Promise<void> {
    const detail = `cancelled by ${by}${reason ? `: ${reason}` : ''}`;
    await this.runs.cancelOpenSteps(w.tx, run.id, w.now, detail);
    const inFlight = await this.attempts.abandon(w.tx, run.id, undefined, 'abandoned', this.grace);
    const wasStarted = run.status === 'running';
    this.end(w, run, { id: run.id, status: 'cancelled', cancelled_by: by, error: detail });
    this.emit(w, run, 'cancelled', { detail, data: { inFlightSteps: inFlight } });
    if (wasStarted) this.finished(w, run, 'cancelled');
    else w.wakeScheduler = true;
  }

  /**
   * Claimed steps (already marked running, `attempt` incremented, `started_at` stamped by the claim): the
   * attempt, its timeout, the request, STEP_STARTED.
   */
  async dispatch(w: Work, steps: DispatchableStep[]): Promise<void> {
    if (steps.length === 0) return;
    w.attemptsRequestedAt = new Date(steps[0].started_at ?? w.now);
    for (const s of steps) {
      const run: RunRef = {
        id: s.run_id,
        workflow_id: s.workflow_id,
        workflow_name: s.workflow_name,
        workflow_version: s.workflow_version,
        user_id: s.user_id,
        task_id: s.task_id,
        traceparent: s.traceparent,
        tracestate: s.tracestate,
      };
      const attempt = s.attempt;
      const key = `${s.run_id}:${s.step_id}:${attempt}`;
      const executionId = randomUUID();
      const deadline = new Date(w.now.getTime() + s.attempt_timeout_seconds * 1000);
      w.attempts.push({
        idempotency_key: key,
        execution_id: executionId,
        run_id: s.run_id,
        step_id: s.step_id,
        attempt,
        agent: s.agent!,
        user_id: s.user_id,
        deadline_at: deadline,
      });
      w.timer(s.run_id, s.step_id, 'attempt_timeout', attempt, deadline);
      w.executions.push({
        run,
        span: spanName('step_started', s.step_id),
        payload: {
          executionId,
          idempotencyKey: key,
          runId: s.run_id,
          stepId: s.step_id,
          attempt,
          userId: s.user_id,
          teamId: s.team_id ?? '',
          agent: s.agent!,
          command: s.command!,
          inputs: toJsonObject(s.inputs ?? {}),
          deadline: timestampFromDate(deadline),
        },
      });
      this.emit(w, run, 'step_started', {
        stepId: s.step_id,
        attempt,
        data: { agent: s.agent, command: s.command, executionId, idempotencyKey: key, by: this.instance },
      });
    }
  }

  /** The gateway's result of the step's current attempt. */
  async onResult(
    w: Work,
    run: RunRow,
    step: StepRow,
    attempt: AttemptRow,
    result: ExecutionResult,
    steps?: StepRow[],
  ): Promise<void> {
    const def = await this.definitions.forRun(w.tx, run);
    const cs = def.byId.get(step.step_id);
    w.wakeScheduler = true;
    const usage = {
      execution_id: result.executionId || attempt.execution_id,
      provider: result.provider || null,
      model: result.model || null,
      input_tokens: String(BigInt(step.input_tokens ?? '0') + BigInt(result.inputTokens)),
      output_tokens: String(BigInt(step.output_tokens ?? '0') + BigInt(result.outputTokens)),
    };
    if (result.succeeded) {
      // The attempt ends and the step takes its result in one statement.
      const patch: Partial<StepRow> = {
        ...usage,
        status: 'succeeded',
        output: result.output,
        sections: result.sections,
        finished_at: w.now,
        error_code: null,
        error_message: null,
        detail: null,
      };
      await this.attempts.complete(w.tx, attempt.idempotency_key, 'succeeded', undefined, {
        runId: step.run_id,
        stepId: step.step_id,
        patch,
      });
      Object.assign(attempt, { status: 'succeeded', holds_slot: false }); // later results of a batch see it ended
      Object.assign(step, patch);
      this.emit(w, run, 'step_succeeded', {
        stepId: step.step_id,
        attempt: step.attempt,
        data: { executionId: usage.execution_id, sections: Object.keys(result.sections) },
      });
      // `steps` holds `step` itself (updated in place by setStep), so advance needs no second read.
      await this.advance(w, run, def, steps?.includes(step) ? steps : undefined);
      return;
    }
    await this.attempts.complete(w.tx, attempt.idempotency_key, 'failed', {
      code: result.errorCode,
      message: result.errorMessage,
    });
    Object.assign(attempt, { status: 'failed', holds_slot: false });
    await this.stepFailed(
      w,
      run,
      cs,
      step,
      {
        code: result.errorCode || 'execution_failed',
        message: result.errorMessage || 'the execution failed',
        retryable: result.retryable,
      },
      usage,
    );
  }

  /** The current attempt failed (an error result or its timeout): retry with backoff, or fail the run. */
  private async stepFailed(
    w: Work,
    run: RunRow,
    cs: CompiledStep | undefined,
    step: StepRow,
    f: Failure,
    extra: Partial<StepRow> = {},
  ): Promise<void> {
    const error = `${f.code}: ${f.message}`;
    if (cs && shouldRetry(cs, step.attempt, f)) {
      const delay = backoffDelayMs(cs.retry, step.attempt + 1, this.settings.ORCHESTRATOR_MAX_BACKOFF_MS);
      const next = new Date(w.now.getTime() + delay);
      const detail = `attempt ${step.attempt} of ${cs.retry.maxAttempts} failed (${error}); retrying in ${(delay / 1000).toFixed(1)} s`;
      await this.setStep(w, step, {
        ...extra,
        status: 'retrying',
        error_code: f.code,
        error_message: f.message,
        next_attempt_at: next,
        detail,
      });
      w.timer(run.id, step.step_id, 'retry', step.attempt, next);
      this.emit(w, run, 'step_retrying', {
        stepId: step.step_id,
        attempt: step.attempt,
        error,
        detail,
        data: { nextAttemptAt: next.toISOString(), delayMs: delay },
      });
      return;
    }
    const final = cs && step.attempt >= cs.retry.maxAttempts && f.retryable ? ` (after ${step.attempt} attempts)` : '';
    await this.setStep(w, step, {
      ...extra,
      status: 'failed',
      error_code: f.code,
      error_message: f.message,
      finished_at: w.now,
      detail: null,
    });
    this.emit(w, run, 'step_failed', { stepId: step.step_id, attempt: step.attempt, error });
    await this.failRun(w, run, step.step_id, `step ${step.step_id} failed${final}: ${error}`);
  }

  /** A due timer, with its run locked; one that no longer matches the state is dropped. */
  async onTimer(w: Work, run: RunRow, timer: TimerRow): Promise<void> {
    if (run.status !== 'running') return;
    if (timer.kind === 'run_timeout') {
      const limit = run.timeout_seconds ?? (await this.definitions.forRun(w.tx, run)).timeoutSeconds;
      await this.failRun(w, run, null, `workflow ${run.workflow_name} timed out after ${limit} s`);
      return;
    }
    const [step] = (await this.runs.steps(w.tx, run.id)).filter((s) => s.step_id === timer.step_id);
    if (!step) return;
    const def = await this.definitions.forRun(w.tx, run);
    const cs = def.byId.get(step.step_id);
    if (timer.kind === 'retry') {
      if (step.status !== 'retrying' || step.attempt !== timer.attempt) return;
      await this.setStep(w, step, { status: 'queued', queued_at: w.now, next_attempt_at: null });
      w.queuedWork = true;
      return;
    }
    if (timer.kind === 'attempt_timeout') {
      if (step.status !== 'running' || step.attempt !== timer.attempt) return;
      await this.attempts.abandon(w.tx, run.id, step.step_id, 'timed_out', this.grace);
      w.wakeScheduler = true;
      await this.stepFailed(w, run, cs, step, {
        code: 'timeout',
        message: `attempt ${step.attempt} timed out after ${step.attempt_timeout_seconds} s`,
        retryable: true,
      });
      return;
    }
    if (timer.kind === 'approval_timeout') {
      if (step.status !== 'waiting_approval' || !cs) return;
      const round = step.escalated ? 1 : 0;
      if (timer.attempt !== round) return;
      const waited = cs.approvalTimeoutSeconds ?? 0;
      if (cs.onTimeout === 'escalate' && !step.escalated) {
        const next = new Date(w.now.getTime() + waited * 1000);
        const detail = `no decision after ${waited} s: escalated to admins; the run fails if nobody decides by ${next.toISOString()}`;
        await this.setStep(w, step, { escalated: true, detail });
        w.timer(run.id, step.step_id, 'approval_timeout', 1, next);
        this.emit(w, run, 'step_waiting_approval', {
          stepId: step.step_id,
          detail,
          data: { escalated: true, approvers: ['admin'], prompt: cs.prompt, timeoutAt: next.toISOString() },
        });
        return;
      }
      const message = `no decision within ${waited} s${step.escalated ? ' (after escalation)' : ''}`;
      await this.setStep(w, step, {
        status: 'failed',
        error_code: 'approval_timeout',
        error_message: message,
        finished_at: w.now,
      });
      this.emit(w, run, 'step_failed', { stepId: step.step_id, error: `approval_timeout: ${message}` });
      await this.failRun(w, run, step.step_id, `step ${step.step_id} failed: approval_timeout: ${message}`);
    }
  }

  /** Whether this person may decide the approval step: admins, operators, or the step's approvers (role or user id). */
  mayDecide(identity: Identity, cs: CompiledStep, escalated: boolean): boolean {
    if (identity.roles.includes('admin') || identity.roles.includes('operator')) return true;
    if (escalated) return false;
    return cs.approvers.some((a) => (identity.roles as string[]).includes(a) || a === identity.subject);
  }

  async decide(
    w: Work,
    run: RunRow,
    step: StepRow,
    decision: 'approve' | 'reject',
    by: string,
    comment: string | undefined,
  ): Promise<void> {
    const note = comment ? `: ${comment}` : '';
    if (decision === 'approve') {
      await this.setStep(w, step, {
        status: 'succeeded',
        output: `Approved by ${by}${note}`,
        finished_at: w.now,
        decided_by: by,
        decision: 'approved',
        decision_comment: comment ?? null,
        detail: `approved by ${by}${note}`,
      });
      this.emit(w, run, 'step_succeeded', { stepId: step.step_id, detail: `approved by ${by}${note}` });
      await this.advance(w, run);
      return;
    }
    const message = `rejected by ${by}${note}`;
    await this.setStep(w, step, {
      status: 'failed',
      finished_at: w.now,
      decided_by: by,
      decision: 'rejected',
      decision_comment: comment ?? null,
      error_code: 'rejected',
      error_message: message,
    });
    this.emit(w, run, 'step_failed', { stepId: step.step_id, error: `rejected: ${message}` });
    await this.failRun(w, run, step.step_id, `step ${step.step_id} ${message}`);
  }

  definitionFor(w: Work, run: RunRow): Promise<CompiledWorkflow> {
    return this.definitions.forRun(w.tx, run);
  }
}
