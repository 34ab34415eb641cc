import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { OrchestratorSettings } from './config/orchestrator.settings';
import { RunEngine } from './engine/run-engine';
import { RunEventNotifier } from './engine/run-event-notifier';
import { ExecutionCompletedHandler } from './handlers/execution-completed.handler';
import { TaskRequestedHandler } from './handlers/task-requested.handler';
import { OrchestratorMetrics } from './metrics/orchestrator-metrics';
import { AttemptRepository } from './repositories/attempt.repository';
import { RunRepository } from './repositories/run.repository';
import { PollingLoop } from './scheduler/polling-loop';
import { FireDueTimersUseCase } from './usecases/fire-due-timers/fire-due-timers.usecase';
import { ScheduleWorkUseCase } from './usecases/schedule-work/schedule-work.usecase';
import { SeedWorkflowsUseCase } from './usecases/seed-workflows/seed-workflows.usecase';

/** The most results applied in one transaction. */
const RESULT_BATCH = 200;

/**
 * Starts the orchestrator's background work once the HTTP server is up: the seed workflows, the two
 * consumers, the scheduler (woken after every commit that queued work or freed a slot, and polling for
 * other replicas' changes) and the timer poller. Stops them before the database closes.
 */
@Injectable()
export class OrchestratorRuntime implements OnModuleDestroy {
  private scheduler?: PollingLoop;
  private timers?: PollingLoop;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly settings: OrchestratorSettings,
    private readonly seeds: SeedWorkflowsUseCase,
    private readonly schedule: ScheduleWorkUseCase,
    private readonly fireTimers: FireDueTimersUseCase,
    private readonly engine: RunEngine,
    private readonly taskRequested: TaskRequestedHandler,
    private readonly executionCompleted: ExecutionCompletedHandler,
    private readonly metrics: OrchestratorMetrics,
    private readonly runs: RunRepository,
    private readonly attempts: AttemptRepository,
    private readonly notifier: RunEventNotifier,
  ) {}

  async start(): Promise<void> {
    const loaded = await this.seeds.execute();
    const added = loaded.filter((r) => r.created);
    if (added.length > 0) this.ctx.logger.info({ workflows: added }, 'workflow templates loaded');

    const onError = (name: string, error: unknown) =>
      this.ctx.logger.error({ err: error, loop: name }, 'loop pass failed');
    let lastFullPass = 0;
    this.scheduler = new PollingLoop(
      'scheduler',
      async (queuedHere) => {
        // Idle replicas only look (no lock) unless there is queued work (certainly so when this replica has just
        // queued some); a full pass now and then frees expired slots.
        const now = Date.now();
        if (!queuedHere && now - lastFullPass < 5000 && !(await this.schedule.hasQueuedWork())) return false;
        lastFullPass = now;
        const pass = await this.schedule.execute();
        return pass.admitted + pass.dispatched > 0;
      },
      this.settings.ORCHESTRATOR_SCHEDULER_POLL_MS,
      onError,
    );
    this.engine.onWake((queued) => this.scheduler?.wake(queued));
    this.timers = new PollingLoop(
      'timers',
      async () => (await this.fireTimers.execute()) > 0,
      this.settings.ORCHESTRATOR_TIMER_POLL_MS,
      onError,
    );
    this.metrics.setSampler(async () => {
      const counts = await this.runs.countByStatus(this.ctx.db);
      return {
        running: counts.running ?? 0,
        queued: counts.queued ?? 0,
        queuedSteps: await this.runs.countQueuedSteps(this.ctx.db),
        slots: await this.attempts.slotsInUse(this.ctx.db),
      };
    });

    const concurrency = this.settings.ORCHESTRATOR_CONSUMER_CONCURRENCY;
    // The platform's consumer groups (<KAFKA_TOPIC_PREFIX>.hishamos.orchestrator.<topic>).
    await this.ctx.subscribe(Topics.TaskRequested, (event, hctx) => this.taskRequested.handle(event, hctx), {
      concurrency,
    });
    // Results in batches: one transaction (and a few statements) for all the results of a fetched batch.
    await this.ctx.subscribeBatch(
      Topics.ExecutionCompleted,
      (events, hctx) => this.executionCompleted.handle(events, hctx),
      { concurrency, maxBatchSize: RESULT_BATCH },
    );
    this.scheduler.start();
    this.timers.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.notifier.shutdown();
    await Promise.all([this.scheduler?.stop(), this.timers?.stop()]);
  }
}
