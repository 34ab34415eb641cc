import { Topics } from '@hishamos/contracts';
import { journalConsumedEvents, type ServiceDefinition } from '@hishamos/platform';
import { UsageMeteringModule } from './usage-metering.module';

export const definition: ServiceDefinition = {
  name: 'usage-metering',
  consumes: [Topics.UsageRecorded],
  publishes: [Topics.BudgetThresholdCrossed],
  module: UsageMeteringModule,
  onStart: (ctx) => journalConsumedEvents(ctx, definition.consumes),
};
