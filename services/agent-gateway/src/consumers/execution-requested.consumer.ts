import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { Topics, type Envelope } from '@hishamos/contracts';
import type { SqlExecutor } from '@hishamos/persistence';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import {
  RequestExecutionUseCase,
  type RequestExecutionCommand,
} from '../usecases/request-execution/request-execution.usecase';

/**
 * ExecutionRequested -> a queued execution (in the consumer's transaction, so the event counts as
 * processed exactly when its execution is queued). Duplicates by idempotency key re-publish the
 * stored result. An event the gateway cannot even queue (no agent, no command) is answered with a
 * failed ExecutionCompleted (`invalid_input`), so the requester is not left waiting.
 */
@Injectable()
export class ExecutionRequestedConsumer {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly requestExecution: RequestExecutionUseCase,
  ) {}

  async subscribe(): Promise<void> {
    await this.ctx.subscribe(Topics.ExecutionRequested, (event, { tx }) => this.handle(event, tx));
  }

  async handle(event: Envelope<typeof Topics.ExecutionRequested>, tx: SqlExecutor): Promise<void> {
    const p = event.payload;
    const tv = p.templateVersion.trim();
    const command: RequestExecutionCommand = {
      idempotencyKey: p.idempotencyKey || `event:${event.attributes.source}:${event.attributes.id}`,
      executionId: p.executionId || undefined,
      userId: p.userId || `service:${event.attributes.source.replace(/^hishamos\//, '') || 'unknown'}`,
      teamId: p.teamId || undefined,
      via: 'event',
      agent: p.agent,
      command: p.command,
      inputs: (p.inputs ?? {}) as Record<string, unknown>,
      version: /^\d+$/.test(tv) ? Number(tv) : undefined,
      label: tv && !/^\d+$/.test(tv) ? tv : undefined,
      provider: p.provider || undefined,
      model: p.model || undefined,
      maxTokens: p.maxTokens || undefined,
      knowledgeTopK: p.knowledgeTopK || undefined,
      runId: p.runId || undefined,
      stepId: p.stepId || undefined,
      attempt: p.attempt || undefined,
      deadline: p.deadline ? timestampDate(p.deadline).toISOString() : undefined,
    };
    try {
      await this.requestExecution.execute(command, tx);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 400) throw error;
      await this.requestExecution.reject(command, error, tx);
    }
  }
}
