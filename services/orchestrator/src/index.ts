import { Topics } from '@hishamos/contracts';
import type { ServiceDefinition } from '@hishamos/platform';
import { OrchestratorSettings } from './config/orchestrator.settings';
import { OrchestratorModule } from './orchestrator.module';
import { OrchestratorRuntime } from './orchestrator-runtime';

export { OrchestratorModule } from './orchestrator.module';
export { OrchestratorRuntime } from './orchestrator-runtime';
export { OrchestratorSettings } from './config/orchestrator.settings';

export const definition: ServiceDefinition = {
  name: 'orchestrator',
  consumes: [Topics.TaskRequested, Topics.ExecutionCompleted],
  publishes: [Topics.ExecutionRequested, Topics.WorkflowProgressed],
  settings: OrchestratorSettings,
  module: OrchestratorModule,
  onStart: async (_ctx, app) => {
    await app.get(OrchestratorRuntime, { strict: false }).start();
  },
};
