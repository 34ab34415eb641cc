import { Topics } from '@hishamos/contracts';
import { journalConsumedEvents, type ServiceDefinition } from '@hishamos/platform';
import { AlertingModule } from './alerting.module';

export const definition: ServiceDefinition = {
  name: 'alerting',
  consumes: [
    Topics.WorkflowProgressed,
    Topics.UsageRecorded,
    Topics.BudgetThresholdCrossed,
    Topics.ProviderHealth,
    Topics.QualityScored,
  ],
  publishes: [Topics.AlertFired],
  module: AlertingModule,
  onStart: (ctx) => journalConsumedEvents(ctx, definition.consumes),
};
