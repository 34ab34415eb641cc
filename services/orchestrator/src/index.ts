import { Topics } from '@hishamos/contracts';
import { journalConsumedEvents, type ServiceDefinition } from '@hishamos/platform';
import { OrchestratorModule } from './orchestrator.module';

export const definition: ServiceDefinition = {
  name: 'orchestrator',
  consumes: [Topics.TaskRequested, Topics.ExecutionCompleted],
  publishes: [Topics.ExecutionRequested, Topics.WorkflowProgressed],
  module: OrchestratorModule,
  onStart: (ctx) => journalConsumedEvents(ctx, definition.consumes),
};
