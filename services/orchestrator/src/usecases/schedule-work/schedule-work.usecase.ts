import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AgentCatalog } from '../../catalog/agent-catalog';
import { Clock } from '../../engine/clock';
import { RunEngine } from '../../engine/run-engine';
import { Work } from '../../engine/work';
import { AttemptRepository } from '../../repositories/attempt.repository';
import { RunRepository } from '../../repositories/run.repository';
import { SchedulerRepository } from '../../repositories/scheduler.repository';

export interface SchedulePass {
  admitted: number;
  dispatched: number;
}

/** The most runs started, and steps dispatched, in one pass (one transaction). */
const MAX_ADMIT_PER_PASS = 500;
const MAX_DISPATCH_PER_PASS = 1000;
/** How often a pass also frees the slots of abandoned attempts whose grace period is over. */
const RELEASE_EVERY_MS = 5000;

/**
 * One scheduling pass, under a transaction-scoped advisory lock shared by every replica: queued runs start
 * while fewer than MAX_CONCURRENT_WORKFLOWS run, then queued steps are dispatched while their agent has
 * fewer attempts in flight than min(MAX_CONCURRENT_TASKS_PER_AGENT, the agent's max_concurrent_tasks).
 * Both queues are served in fair order across users.
 */
@Injectable()
export class ScheduleWorkUseCase {
  private lastRelease = 0;
  private limitCache?: Map<string, number>;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly scheduler: SchedulerRepository,
    private readonly attempts: AttemptRepository,
    private readonly runs: RunRepository,
    private readonly engine: RunEngine,
    private readonly catalog: AgentCatalog,
    private readonly clock: Clock,
  ) {}

  /** The limit of one agent: the platform's per-agent limit and the agent's own, whichever is lower. */
  agentLimit(agent: string): number {
    const global = this.ctx.config.MAX_CONCURRENT_TASKS_PER_AGENT;
    const own = this.catalog.agentLimit(agent);
    return own === undefined ? global : Math.min(global, own);
  }

  /** Every catalog agent's limit (agents outside the catalog get MAX_CONCURRENT_TASKS_PER_AGENT). */
  private limits(): Map<string, number> {
    this.limitCache ??= new Map(this.catalog.agents().map((a) => [a, this.agentLimit(a)]));
    return this.limitCache;
  }

  /** Cheap check (no lock) whether a pass could have anything to do. */
  hasQueuedWork(): Promise<boolean> {
    return this.scheduler.hasQueuedWork(this.ctx.db);
  }

  async execute(): Promise<SchedulePass> {
    return transactionWithHooks(this.ctx.db, async (tx) => {
      await this.scheduler.lockScheduler(tx);
      const w = new Work(tx, this.clock.now());
      const runs = await this.scheduler.admitRuns(tx, this.ctx.config.MAX_CONCURRENT_WORKFLOWS, MAX_ADMIT_PER_PASS);
      runs.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
      if (runs.length > 0) {
        const steps = await this.runs.stepsOf(
          tx,
          runs.map((r) => r.id),
        );
        for (const run of runs) {
          await this.engine.startRun(
            w,
            run,
            steps.filter((s) => s.run_id === run.id),
          );
        }
      }
      if (w.now.getTime() - this.lastRelease > RELEASE_EVERY_MS) {
        await this.attempts.releaseExpired(tx);
        this.lastRelease = w.now.getTime();
      }
      await this.engine.flushQueued(w); // the steps the started runs made ready, before choosing what to dispatch
      const claimed = await this.scheduler.claimDispatchable(
        tx,
        this.limits(),
        this.ctx.config.MAX_CONCURRENT_TASKS_PER_AGENT,
        MAX_DISPATCH_PER_PASS,
      );
      await this.engine.dispatch(w, claimed);
      // What this pass queued (the admitted runs' first steps) it has dispatched already, as far as slots allow:
      // the next pass has nothing certain to do.
      w.queuedWork = false;
      await this.engine.flush(w);
      return { admitted: runs.length, dispatched: claimed.length };
    });
  }
}
