import { Topics } from '@hishamos/contracts';
import { journalConsumedEvents, type ServiceDefinition } from '@hishamos/platform';
import { FeedbackMlModule } from './feedback-ml.module';

export const definition: ServiceDefinition = {
  name: 'feedback-ml',
  consumes: [Topics.ExecutionCompleted, Topics.FeedbackSubmitted],
  publishes: [Topics.QualityScored],
  module: FeedbackMlModule,
  onStart: (ctx) => journalConsumedEvents(ctx, definition.consumes),
};
