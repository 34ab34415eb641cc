import type { PayloadInit } from '@hishamos/contracts';
import type { Topics } from '@hishamos/contracts';
import { commitHooksOf } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import type { NewRunEvent } from '../repositories/run-event.repository';
import type { NewTimer } from '../repositories/timer.repository';

type WorkflowEventInit = PayloadInit<typeof Topics.WorkflowProgressed>;
type ExecutionRequestInit = PayloadInit<typeof Topics.ExecutionRequested>;

/**
 * What one transaction of the engine produces besides its row updates: run events (history + Kafka),
 * execution requests, timers, and what to do once it has committed. Written in a few statements by
 * `RunEngine.flush` at the end of the transaction.
 */
export class Work {
  readonly runEvents: NewRunEvent[] = [];
  readonly workflowEvents: WorkflowEventInit[] = [];
  readonly executions: ExecutionRequestInit[] = [];
  readonly timers: NewTimer[] = [];
  /** Steps made ready (pending -> queued), written together by RunEngine.flushQueued. */
  readonly queued: { run_id: string; step_id: string; inputs: Record<string, unknown> }[] = [];
  private readonly afterCommit: (() => void)[] = [];
  /** Slots were freed or work was queued: the scheduler should look again after the commit. */
  wakeScheduler = false;

  constructor(
    readonly tx: SqlExecutor,
    readonly now: Date,
  ) {}

  onCommit(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  timer(runId: string, stepId: string, kind: NewTimer['kind'], attempt: number, dueAt: Date): void {
    this.timers.push({ run_id: runId, step_id: stepId, kind, attempt, due_at: dueAt });
  }

  /** Registers the after-commit callbacks on the transaction (or runs them now when it has no hooks). */
  registerCommitHooks(wake: () => void): void {
    const callbacks = [...this.afterCommit];
    if (this.wakeScheduler) callbacks.push(wake);
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
