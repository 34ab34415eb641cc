import { Module } from '@nestjs/common';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import { AgentCatalog } from './catalog/agent-catalog';
import { OrchestratorSettings } from './config/orchestrator.settings';
import { RunsController } from './controllers/runs.controller';
import { TasksController } from './controllers/tasks.controller';
import { WorkflowsController } from './controllers/workflows.controller';
import { DefinitionStore } from './definitions/definition-store';
import { WorkflowDefinitionValidator } from './definitions/workflow-definition-validator';
import { Clock } from './engine/clock';
import { RunCreator } from './engine/run-creator';
import { RunEngine } from './engine/run-engine';
import { RunEventNotifier } from './engine/run-event-notifier';
import { ExecutionCompletedHandler } from './handlers/execution-completed.handler';
import { TaskRequestedHandler } from './handlers/task-requested.handler';
import { OrchestratorMetrics } from './metrics/orchestrator-metrics';
import { OrchestratorRuntime } from './orchestrator-runtime';
import { AttemptRepository } from './repositories/attempt.repository';
import { RunEventRepository } from './repositories/run-event.repository';
import { RunRepository } from './repositories/run.repository';
import { SchedulerRepository } from './repositories/scheduler.repository';
import { TimerRepository } from './repositories/timer.repository';
import { WorkflowDefinitionRepository } from './repositories/workflow-definition.repository';
import { CancelRunUseCase } from './usecases/cancel-run/cancel-run.usecase';
import { DecideApprovalUseCase } from './usecases/decide-approval/decide-approval.usecase';
import { FireDueTimersUseCase } from './usecases/fire-due-timers/fire-due-timers.usecase';
import { GetRunUseCase } from './usecases/get-run/get-run.usecase';
import { GetWorkflowUseCase } from './usecases/get-workflow/get-workflow.usecase';
import { IntakeTaskEventUseCase } from './usecases/intake-task-event/intake-task-event.usecase';
import { ListRunEventsUseCase } from './usecases/list-run-events/list-run-events.usecase';
import { ListRunsUseCase } from './usecases/list-runs/list-runs.usecase';
import { ListWorkflowsUseCase } from './usecases/list-workflows/list-workflows.usecase';
import { RecordExecutionResultUseCase } from './usecases/record-execution-result/record-execution-result.usecase';
import { RegisterWorkflowUseCase } from './usecases/register-workflow/register-workflow.usecase';
import { ScheduleWorkUseCase } from './usecases/schedule-work/schedule-work.usecase';
import { SeedWorkflowsUseCase } from './usecases/seed-workflows/seed-workflows.usecase';
import { StartWorkflowRunUseCase } from './usecases/start-workflow-run/start-workflow-run.usecase';
import { SubmitTaskUseCase } from './usecases/submit-task/submit-task.usecase';

/** The orchestrator service's use cases, controllers and repositories. */
@Module({
  controllers: [TasksController, WorkflowsController, RunsController],
  providers: [
    {
      provide: OrchestratorSettings,
      useFactory: (ctx: ServiceContext) => settingsOf<OrchestratorSettings>(ctx),
      inject: [SERVICE_CONTEXT],
    },
    {
      provide: AgentCatalog,
      useFactory: (settings: OrchestratorSettings) => AgentCatalog.load(settings.ORCHESTRATOR_SEEDS_DIR),
      inject: [OrchestratorSettings],
    },
    {
      provide: WorkflowDefinitionValidator,
      useFactory: (catalog: AgentCatalog, settings: OrchestratorSettings) =>
        new WorkflowDefinitionValidator(catalog, settings.ORCHESTRATOR_SEEDS_DIR),
      inject: [AgentCatalog, OrchestratorSettings],
    },
    Clock,
    OrchestratorMetrics,
    RunEventNotifier,
    WorkflowDefinitionRepository,
    RunRepository,
    AttemptRepository,
    TimerRepository,
    RunEventRepository,
    SchedulerRepository,
    DefinitionStore,
    RunEngine,
    RunCreator,
    RegisterWorkflowUseCase,
    SeedWorkflowsUseCase,
    SubmitTaskUseCase,
    StartWorkflowRunUseCase,
    IntakeTaskEventUseCase,
    RecordExecutionResultUseCase,
    ScheduleWorkUseCase,
    FireDueTimersUseCase,
    DecideApprovalUseCase,
    CancelRunUseCase,
    GetRunUseCase,
    ListRunsUseCase,
    ListRunEventsUseCase,
    ListWorkflowsUseCase,
    GetWorkflowUseCase,
    TaskRequestedHandler,
    ExecutionCompletedHandler,
    OrchestratorRuntime,
  ],
  exports: [OrchestratorRuntime],
})
export class OrchestratorModule {}
