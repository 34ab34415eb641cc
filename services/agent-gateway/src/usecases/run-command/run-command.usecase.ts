import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IsBoolean, IsOptional } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ExecutionRepository, type ExecutionRecord } from '../../repositories/execution.repository';
import { currentTraceContext, executionSpan } from '../../tracing/trace-context';
import { meteringUser, type Caller } from '../caller';
import { ExecuteCommandCommand, ExecuteCommandUseCase } from '../execute-command/execute-command.usecase';
import { RequestExecutionUseCase } from '../request-execution/request-execution.usecase';
import { toValidCommand } from '../valid-command';

/** `POST /v1/agents/:slug/commands/:command`: run now, or queue (`async`), at most once per idempotency key. */
export class RunCommandCommand extends ExecuteCommandCommand {
  @IsOptional()
  @IsBoolean()
  async?: boolean;
}

export interface RunCommandResult {
  execution: ExecutionRecord;
  /** The idempotency key was used before: this is the first request's execution. */
  duplicate: boolean;
}

/**
 * Checks the request (agent, permission, command, template inputs) before answering either way;
 * then runs it synchronously, or queues it for the workers and returns at once. With an
 * idempotency key (per user), a repeated request returns the first one's execution.
 */
@Injectable()
export class RunCommandUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repository: ExecutionRepository,
    private readonly executeCommand: ExecuteCommandUseCase,
    private readonly requestExecution: RequestExecutionUseCase,
  ) {}

  async execute(input: RunCommandCommand, caller: Caller): Promise<RunCommandResult> {
    const command = toValidCommand(RunCommandCommand, input);
    const userId = meteringUser(caller.identity);
    const key = command.idempotencyKey ? `user:${userId}:${command.idempotencyKey}` : undefined;
    if (key) {
      const existing = await this.repository.byIdempotencyKey(key);
      if (existing) return { execution: existing, duplicate: true };
    }
    const prepared = await this.executeCommand.prepare({ ...command, idempotencyKey: key }, caller);
    const queuedRequest = {
      idempotencyKey: key ?? `async:${randomUUID()}`,
      userId,
      teamId: caller.identity.teamId,
      via: caller.via,
      roles: caller.identity.roles,
      agent: command.agent,
      command: command.command,
      inputs: command.inputs,
      version: command.version,
      label: command.label,
      provider: command.provider,
      model: command.model,
      maxTokens: command.maxTokens,
      knowledgeTopK: command.knowledgeTopK,
    };
    if (command.async) {
      return transactionWithHooks(this.ctx.db, (tx) => this.requestExecution.execute(queuedRequest, tx));
    }
    const runNow = (queued?: ExecutionRecord) =>
      executionSpan(command.agent, command.command, queued ? { 'hishamos.execution_id': queued.id } : {}, () =>
        this.executeCommand.run(prepared, queued),
      );
    if (!key) return { execution: await runNow(), duplicate: false };
    // With a key, the execution is claimed first: a concurrent repeat finds it instead of running again,
    // and a gateway that crashes mid-call leaves it to the workers once its lease runs out.
    const id = randomUUID();
    const placeholder: ExecutionRecord = {
      id,
      kind: 'command',
      status: 'queued',
      idempotencyKey: key,
      userId,
      teamId: caller.identity.teamId,
      via: caller.via,
      agent: command.agent,
      command: command.command,
      offline: false,
      streamed: false,
      request: { ...queuedRequest },
      // A worker that takes it over (this gateway crashed mid-call) continues the request's trace.
      traceContext: currentTraceContext(),
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      usageEstimated: false,
    };
    if (!(await this.repository.insertQueued(placeholder))) {
      const existing = await this.repository.byIdempotencyKey(key);
      if (existing) return { execution: existing, duplicate: true };
    }
    const claimed = await this.repository.claim(id, 600);
    if (!claimed) return { execution: (await this.repository.get(id)) ?? placeholder, duplicate: true };
    return { execution: await runNow(claimed), duplicate: false };
  }
}
