import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { OrchestratorSettings } from './config/orchestrator.settings';
import { RunEngine } from './engine/run-engine';
import { Clock } from './engine/clock';
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
    private readonly clock: Clock,
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
      async () => {
        // Idle replicas only look (no lock) unless there is queued work; a full pass now and then frees expired slots.
        const now = Date.now();
        if (now - lastFullPass < 5000 && !(await this.schedule.hasQueuedWork())) return false;
        lastFullPass = now;
        const pass = await this.schedule.execute();
        return pass.admitted + pass.dispatched > 0;
      },
      this.settings.ORCHESTRATOR_SCHEDULER_POLL_MS,
      onError,
    );
    this.engine.onWake(() => this.scheduler?.wake());
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
        slots: await this.attempts.slotsInUse(this.ctx.db, this.clock.now()),
      };
    });

    const concurrency = this.settings.ORCHESTRATOR_CONSUMER_CONCURRENCY;
    await this.ctx.bus.subscribe(
      this.group(Topics.TaskRequested),
      Topics.TaskRequested,
      this.ctx.db,
      (event, hctx) => this.taskRequested.handle(event, hctx),
      { concurrency },
    );
    await this.ctx.bus.subscribe(
      this.group(Topics.ExecutionCompleted),
      Topics.ExecutionCompleted,
      this.ctx.db,
      (event, hctx) => this.executionCompleted.handle(event, hctx),
      { concurrency },
    );
    this.scheduler.start();
    this.timers.start();
  }

  /**
   * The consumer group of a topic: the platform's `hishamos.orchestrator.<topic>`, namespaced by
   * KAFKA_TOPIC_PREFIX like the topics. (PrefixedTransport prefixes topics but not group ids, so two installs
   * sharing a cluster would otherwise share groups, and Kafka would hand one install's partitions to the
   * other's members. Without a prefix the name is exactly the platform's.)
   */
  private group(topic: string): string {
    const prefix = this.ctx.config.KAFKA_TOPIC_PREFIX;
    return `${prefix ? `${prefix}.` : ''}hishamos.${this.ctx.name}.${topic}`;
  }

  async onModuleDestroy(): Promise<void> {
    this.notifier.shutdown();
    await Promise.all([this.scheduler?.stop(), this.timers?.stop()]);
  }
}
