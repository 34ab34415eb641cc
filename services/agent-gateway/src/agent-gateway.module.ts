import { Module } from '@nestjs/common';
import { CatalogModule } from './catalog/catalog.module';
import { ConsoleModule } from './console/console.module';
import { ExecutionModule } from './execution/execution.module';
import { IdentityModule } from './identity/identity.module';
import { KnowledgeModule } from './knowledge/knowledge.module';

/**
 * The agent-gateway: identity & access, platform configuration and the edge (IdentityModule, global),
 * the agent roster and command library (CatalogModule), the knowledge base (KnowledgeModule), and
 * model calls — providers, agent executions, the OpenAI-compatible API, metering (ExecutionModule).
 */
@Module({
  imports: [IdentityModule, CatalogModule, KnowledgeModule, ExecutionModule, ConsoleModule],
})
export class AgentGatewayModule {}
