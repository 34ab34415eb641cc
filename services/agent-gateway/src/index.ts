import type { INestApplicationContext } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import type { ServiceContext, ServiceDefinition } from '@hishamos/platform';
import { AgentGatewayModule } from './agent-gateway.module';
import { seedCatalogOnStart } from './catalog/usecases/seed-catalog/seed-catalog-on-start';
import { AgentGatewaySettings } from './config/agent-gateway.settings';
import { ExecutionRequestedConsumer } from './consumers/execution-requested.consumer';
import { SecretRotatedConsumer } from './consumers/secret-rotated.consumer';
import { consumeAuditEvents } from './identity/consumers/identity.consumers';
import { ExecutionWorker } from './workers/execution.worker';

/**
 * Starts the gateway's background work once HTTP is up: seeds the catalog from seeds/, then
 * consumes ExecutionRequested (queued executions), SecretRotated (provider keys) and AuditRecorded
 * (other services' audit entries), and starts the execution workers (which also pick up executions a
 * crashed replica left behind).
 */
export async function startAgentGateway(ctx: ServiceContext, app: INestApplicationContext): Promise<void> {
  await seedCatalogOnStart(ctx);
  await app.get(SecretRotatedConsumer).subscribe();
  await consumeAuditEvents(ctx, app);
  await app.get(ExecutionRequestedConsumer).subscribe();
  app.get(ExecutionWorker).start();
}

export const definition: ServiceDefinition = {
  name: 'agent-gateway',
  consumes: [Topics.ExecutionRequested, Topics.SecretRotated, Topics.AuditRecorded],
  publishes: [Topics.ExecutionCompleted, Topics.UsageRecorded, Topics.ProviderHealth, Topics.AuditRecorded],
  vector: true,
  settings: AgentGatewaySettings,
  module: AgentGatewayModule,
  onStart: startAgentGateway,
};

export { AgentGatewaySettings };
