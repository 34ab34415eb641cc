import { Module, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import { BUDGET } from '../budget/budget.port';
import { MeteringBudgetAdapter } from '../budget/metering-budget.adapter';
import { NoBudgetAdapter } from '../budget/no-budget.adapter';
import { CatalogModule } from '../catalog/catalog.module';
import type { AgentGatewaySettings } from '../config/agent-gateway.settings';
import { ExecutionRequestedConsumer } from '../consumers/execution-requested.consumer';
import { SecretRotatedConsumer } from '../consumers/secret-rotated.consumer';
import { CommandsController } from '../http/commands.controller';
import { OpenAiController } from '../http/openai.controller';
import { stampRequestArrival } from '../http/request-arrival';
import { EmbedderRegistry } from '../knowledge/embedding/embedder.registry';
import { KnowledgeModule } from '../knowledge/knowledge.module';
import { DEFAULT_EMBEDDING_MODELS, ProviderEmbedder } from '../providers/provider-embedder';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import { ProviderRouter } from '../providers/provider-router';
import { ExecutionRecorder } from '../repositories/execution-recorder';
import { ExecutionRepository } from '../repositories/execution.repository';
import { CreateChatCompletionUseCase } from '../usecases/create-chat-completion/create-chat-completion.usecase';
import { CreateEmbeddingsUseCase } from '../usecases/create-embeddings/create-embeddings.usecase';
import { ExecuteCommandUseCase } from '../usecases/execute-command/execute-command.usecase';
import { GetExecutionUseCase } from '../usecases/get-execution/get-execution.usecase';
import { ListModelsUseCase } from '../usecases/list-models/list-models.usecase';
import { RequestExecutionUseCase } from '../usecases/request-execution/request-execution.usecase';
import { RunCommandUseCase } from '../usecases/run-command/run-command.usecase';
import { ExecutionWorker } from '../workers/execution.worker';
import { AgentDirectory } from './agent-directory';

/**
 * Model calls: the provider router (adapters, retries, circuit breakers, fallback), agent command
 * execution (sync, async, from ExecutionRequested), the OpenAI-compatible API, budget reservations,
 * metering (execution rows, UsageRecorded, ExecutionCompleted) and the gateway's metrics. Uses
 * AGENT_ACCESS, SECRET_STORE and PROVIDER_CONFIGS from whichever module provides them globally
 * (IdentityModule), with in-process fallbacks when absent.
 */
@Module({
  imports: [CatalogModule, KnowledgeModule],
  controllers: [OpenAiController, CommandsController],
  providers: [
    GatewayMetrics,
    ProviderRouter,
    AgentDirectory,
    ExecutionRepository,
    ExecutionRecorder,
    ExecutionWorker,
    {
      provide: BUDGET,
      inject: [SERVICE_CONTEXT, GatewayMetrics],
      useFactory: (ctx: ServiceContext, metrics: GatewayMetrics) =>
        settingsOf<AgentGatewaySettings>(ctx).BUDGET_BACKEND === 'none'
          ? new NoBudgetAdapter()
          : new MeteringBudgetAdapter(ctx, metrics),
    },
    ExecuteCommandUseCase,
    RunCommandUseCase,
    RequestExecutionUseCase,
    GetExecutionUseCase,
    CreateChatCompletionUseCase,
    CreateEmbeddingsUseCase,
    ListModelsUseCase,
    ExecutionRequestedConsumer,
    SecretRotatedConsumer,
  ],
  exports: [
    ProviderRouter,
    GatewayMetrics,
    ExecuteCommandUseCase,
    ExecutionWorker,
    ExecutionRequestedConsumer,
    SecretRotatedConsumer,
    BUDGET,
  ],
})
export class ExecutionModule implements OnModuleInit {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly agents: AgentDirectory,
    private readonly router: ProviderRouter,
    @Optional() private readonly embedders?: EmbedderRegistry,
    @Optional() private readonly http?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    // Arrival time for hishamos_gateway_overhead_seconds, before routing and authentication (a Nest
    // middleware would run every request through @fastify/middie).
    const server = this.http?.httpAdapter?.getHttpServer() as import('node:http').Server | undefined;
    server?.prependListener('request', stampRequestArrival);
    // The knowledge base can embed with any configured provider that offers embeddings (KNOWLEDGE_EMBEDDER=<provider id>).
    this.router.onLoaded(() => {
      for (const id of this.router.ids()) {
        const e = this.router.entry(id)!;
        const model = (e.options.embeddingModel as string | undefined) ?? DEFAULT_EMBEDDING_MODELS[e.kind];
        if (!this.embedders || !model || e.kind === 'offline' || id === 'hashing') continue;
        this.embedders.register(new ProviderEmbedder(id, model, this.router));
      }
    });
    void this.router.ready().catch(() => undefined);
    this.metrics.setActiveAgentsSource(async () => {
      await this.router.ready();
      const agents = await this.agents.list();
      return agents.filter(
        (a) => a.enabled && this.router.canServe({ defaultProvider: a.defaultProvider, defaultModel: a.defaultModel }),
      ).length;
    });
  }
}
