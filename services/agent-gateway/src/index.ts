import { Topics } from '@hishamos/contracts';
import { journalConsumedEvents, type ServiceDefinition } from '@hishamos/platform';
import { AgentGatewayModule } from './agent-gateway.module';

export const definition: ServiceDefinition = {
  name: 'agent-gateway',
  consumes: [Topics.ExecutionRequested, Topics.SecretRotated, Topics.AuditRecorded],
  publishes: [Topics.ExecutionCompleted, Topics.UsageRecorded, Topics.ProviderHealth],
  vector: true,
  module: AgentGatewayModule,
  onStart: (ctx) => journalConsumedEvents(ctx, definition.consumes),
};
