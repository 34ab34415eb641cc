import { Injectable } from '@nestjs/common';
import { ExecutionStatus, type Envelope, type Topics } from '@hishamos/contracts';
import type { SqlExecutor } from '@hishamos/persistence';
import { Clock } from '../../engine/clock';
import { RunEngine, type ExecutionResult } from '../../engine/run-engine';
import { Work } from '../../engine/work';
import { AttemptRepository } from '../../repositories/attempt.repository';
import { RunRepository } from '../../repositories/run.repository';

export type RecordOutcome = 'not_ours' | 'applied' | 'late';

/**
 * The gateway's ExecutionCompleted for one attempt: the step succeeds (and the run advances), is retried
 * with backoff, or fails the run. A result for an attempt already given up (timed out, cancelled) only
 * frees its agent slot. Results of executions the orchestrator did not request are ignored.
 */
@Injectable()
export class RecordExecutionResultUseCase {
  constructor(
    private readonly runs: RunRepository,
    private readonly attempts: AttemptRepository,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  async execute(event: Envelope<typeof Topics.ExecutionCompleted>, tx: SqlExecutor): Promise<RecordOutcome> {
    const p = event.payload;
    if (!p.runId || !p.idempotencyKey) return 'not_ours';
    // The run's lock first (lock order: run, steps, attempts); it guards the attempt and the steps too.
    const run = await this.runs.lockByAttempt(tx, p.idempotencyKey);
    if (!run) return 'not_ours';
    const attempt = await this.attempts.byKey(tx, p.idempotencyKey);
    if (!attempt) return 'not_ours';
    const w = new Work(tx, this.clock.now());
    const steps = await this.runs.steps(tx, run.id);
    const step = steps.find((s) => s.step_id === attempt.step_id);
    const current =
      attempt.status === 'running' &&
      run.status === 'running' &&
      step?.status === 'running' &&
      step.attempt === attempt.attempt;
    if (!current || !step) {
      if (attempt.holds_slot) {
        await this.attempts.releaseSlot(tx, attempt.idempotency_key, w.now);
        w.wakeScheduler = true;
      }
      await this.engine.flush(w);
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
    await this.engine.flush(w);
    return 'applied';
  }
}
