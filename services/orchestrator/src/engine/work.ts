import type { PayloadInit } from '@hishamos/contracts';
import type { Topics } from '@hishamos/contracts';
import { commitHooksOf } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import type { NewAttempt } from '../repositories/attempt.repository';
import type { NewRunEvent } from '../repositories/run-event.repository';
import type { RunEnd } from '../repositories/run.repository';
import type { NewTimer } from '../repositories/timer.repository';
import { RunSpans, type TracedRun } from './run-trace';

type WorkflowEventInit = PayloadInit<typeof Topics.WorkflowProgressed>;
type ExecutionRequestInit = PayloadInit<typeof Topics.ExecutionRequested>;

/** An event of a run and the span (a child of the run's trace context) it is published in. */
export interface RunEvent<T> {
  payload: T;
  run: TracedRun;
  span: string;
}

/**
 * What one transaction of the engine produces besides its row updates: run events (history + Kafka),
 * execution requests, timers, attempts, and what to do once it has committed. Written in a few statements
 * by `RunEngine.flush` at the end of the transaction.
 */
export class Work {
  readonly runEvents: NewRunEvent[] = [];
  readonly workflowEvents: RunEvent<WorkflowEventInit>[] = [];
  readonly executions: RunEvent<ExecutionRequestInit>[] = [];
  /** The spans the events are published in, one per run and name. */
  readonly spans: RunSpans;
  readonly timers: NewTimer[] = [];
  /** Execution attempts dispatched, with when the scheduler claimed them (their requested_at). */
  readonly attempts: NewAttempt[] = [];
  attemptsRequestedAt?: Date;
  /** Runs that ended (written, with their finished_at stamp, by RunEngine.flush). */
  readonly endedRuns: RunEnd[] = [];
  /** Steps made ready (pending -> queued), written together by RunEngine.flushQueued. */
  readonly queued: { run_id: string; step_id: string; inputs: Record<string, unknown> }[] = [];
  private readonly afterCommit: (() => void)[] = [];
  /** Slots were freed or work was queued: the scheduler should look again after the commit. */
  wakeScheduler = false;
  /** Work was queued (a run, a step): the scheduler will find something to do. */
  queuedWork = false;

  constructor(
    readonly tx: SqlExecutor,
    readonly now: Date,
  ) {
    this.spans = new RunSpans(now);
  }

  onCommit(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  timer(runId: string, stepId: string, kind: NewTimer['kind'], attempt: number, dueAt: Date): void {
    this.timers.push({ run_id: runId, step_id: stepId, kind, attempt, due_at: dueAt });
  }

  /** Registers the after-commit callbacks on the transaction (or runs them now when it has no hooks). */
  registerCommitHooks(wake: (queuedWork: boolean) => void): void {
    const callbacks = [...this.afterCommit];
    const queuedWork = this.queuedWork;
    if (this.wakeScheduler || queuedWork) callbacks.push(() => wake(queuedWork));
    if (callbacks.length === 0) return;
    const run = () => {
      for (const fn of callbacks) {
        try {
          fn();
        } catch {
          // after commit: nothing to undo
        }
      }
    };
    const hooks = commitHooksOf(this.tx);
    if (hooks) hooks.onCommit(run);
    else setImmediate(run);
  }
}
