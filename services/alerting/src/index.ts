import { Topics } from '@hishamos/contracts';
import type { ServiceDefinition } from '@hishamos/platform';
import { AlertingModule } from './alerting.module';
import { AlertingRuntime } from './alerting.runtime';
import { AlertingSettings } from './config/alerting.settings';

export const definition: ServiceDefinition = {
  name: 'alerting',
  consumes: [
    Topics.WorkflowProgressed,
    Topics.UsageRecorded,
    Topics.BudgetThresholdCrossed,
    Topics.ProviderHealth,
    Topics.QualityScored,
    Topics.UsagePriced,
    Topics.DeadLettered,
    Topics.SecretRotated,
  ],
  publishes: [Topics.AlertFired],
  module: AlertingModule,
  settings: AlertingSettings,
  onStart: (_ctx, app) => app.get(AlertingRuntime).start(),
};

export { AlertingSettings } from './config/alerting.settings';
export { compileExpression, ExpressionError } from './domain/expression/expression';
export { webhookSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './channels/webhook.channel';
