import { Injectable } from '@nestjs/common';
import { ExecutionStatus, type Envelope, type Topics } from '@hishamos/contracts';
import type { SqlExecutor } from '@hishamos/persistence';
import { Clock } from '../../engine/clock';
import { RunEngine, type ExecutionResult } from '../../engine/run-engine';
import { Work } from '../../engine/work';
import { AttemptRepository } from '../../repositories/attempt.repository';
import type { AttemptRow, RunRow, StepRow } from '../../repositories/rows';
import { RunRepository } from '../../repositories/run.repository';

export type RecordOutcome = 'not_ours' | 'applied' | 'late';

type Completed = Envelope<typeof Topics.ExecutionCompleted>;

/**
 * The gateway's ExecutionCompleted for attempts: each step succeeds (and its run advances), is retried with
 * backoff, or fails its run. A result for an attempt already given up (timed out, cancelled) only frees its
 * agent slot. Results of executions the orchestrator did not request are ignored.
 *
 * A whole batch of results is applied in the caller's transaction with a few statements for all of them: the
 * runs are locked in one (in id order; lock order: run, steps, attempts), their attempts and steps read in two,
 * and what the results produce (run events, workflow events, execution requests, timers) written together.
 * Results are applied in order, so two results of one run in a batch see each other's effects.
 */
@Injectable()
export class RecordExecutionResultUseCase {
  constructor(
    private readonly runs: RunRepository,
    private readonly attempts: AttemptRepository,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  async execute(events: Completed[], tx: SqlExecutor): Promise<RecordOutcome[]> {
    const mine = events.filter((e) => e.payload.runId && e.payload.idempotencyKey);
    const keys = [...new Set(mine.map((e) => e.payload.idempotencyKey))];
    if (keys.length === 0) return events.map(() => 'not_ours');
    const locked = await this.runs.lockByAttempts(tx, keys);
    if (locked.length === 0) return events.map(() => 'not_ours');
    const runs = new Map(locked.map((r) => [r.id, r]));
    const attempts = new Map((await this.attempts.byKeys(tx, keys)).map((a) => [a.idempotency_key, a]));
    const stepsOf = new Map<string, StepRow[]>();
    for (const s of await this.runs.stepsOf(tx, [...runs.keys()])) {
      const list = stepsOf.get(s.run_id) ?? [];
      list.push(s);
      stepsOf.set(s.run_id, list);
    }
    const w = new Work(tx, this.clock.now());
    const outcomes: RecordOutcome[] = [];
    for (const event of events) {
      const attempt = mine.includes(event) ? attempts.get(event.payload.idempotencyKey) : undefined;
      const run = attempt ? runs.get(attempt.run_id) : undefined;
      outcomes.push(run && attempt ? await this.apply(w, event, run, attempt, stepsOf.get(run.id) ?? []) : 'not_ours');
    }
    await this.engine.flush(w);
    return outcomes;
  }

  private async apply(
    w: Work,
    event: Completed,
    run: RunRow,
    attempt: AttemptRow,
    steps: StepRow[],
  ): Promise<RecordOutcome> {
    const p = event.payload;
    const step = steps.find((s) => s.step_id === attempt.step_id);
    const current =
      attempt.status === 'running' &&
      run.status === 'running' &&
      step?.status === 'running' &&
      step.attempt === attempt.attempt;
    if (!current || !step) {
      if (attempt.holds_slot) {
        await this.attempts.releaseSlot(w.tx, attempt.idempotency_key);
        attempt.holds_slot = false;
        w.wakeScheduler = true;
      }
      return 'late';
    }
    const result: ExecutionResult = {
      succeeded: p.status === ExecutionStatus.SUCCEEDED,
      output: p.output,
      sections: (p.sections ?? {}) as Record<string, unknown>,
      errorCode: p.errorCode,
      errorMessage: p.errorMessage,
      retryable: p.status === ExecutionStatus.SUCCEEDED ? false : p.retryable,
      executionId: p.executionId,
      provider: p.provider,
      model: p.model,
      inputTokens: Number(p.usage?.inputTokens ?? 0n),
      outputTokens: Number(p.usage?.outputTokens ?? 0n),
    };
    await this.engine.onResult(w, run, step, attempt, result, steps);
    return 'applied';
  }
}
