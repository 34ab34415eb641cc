import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';
import { Topics } from '@hishamos/contracts';
import { commitHooksOf } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ApiError, type ServiceContext } from '@hishamos/platform';
import { completedKey, executionCompletedOf, ExecutionRecorder } from '../../repositories/execution-recorder';
import { ExecutionRepository, type ExecutionRecord } from '../../repositories/execution.repository';
import { currentTraceContext } from '../../tracing/trace-context';
import { ExecutionWorker } from '../../workers/execution.worker';
import { toValidCommand } from '../valid-command';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Accept one command execution to run in the background: from an ExecutionRequested event or
 * `POST /v1/agents/:slug/commands/:command?async=true`. What it runs is checked when it runs (a bad
 * agent, command or input becomes a failed execution the requester is told about).
 */
export class RequestExecutionCommand {
  /** At most one execution in effect per key. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  idempotencyKey!: string;

  /** The requester's execution id (used when free, else a new one). */
  @IsOptional()
  @IsString()
  executionId?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userId!: string;

  @IsOptional()
  @IsString()
  teamId?: string;

  @IsIn(['api_key', 'jwt', 'service', 'forwarded', 'event'])
  via!: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  roles?: string[];

  @IsString()
  @MaxLength(200)
  agent!: string;

  @IsString()
  @MaxLength(200)
  command!: string;

  @IsObject()
  inputs!: Record<string, unknown>;

  @IsOptional()
  @IsInt()
  version?: number;

  @IsOptional()
  @IsString()
  label?: string;

  @IsOptional()
  @IsString()
  provider?: string;

  @IsOptional()
  @IsString()
  model?: string;

  @IsOptional()
  @IsInt()
  maxTokens?: number;

  @IsOptional()
  @IsInt()
  knowledgeTopK?: number;

  @IsOptional()
  @IsString()
  runId?: string;

  @IsOptional()
  @IsString()
  stepId?: string;

  @IsOptional()
  @IsInt()
  attempt?: number;

  /** After this the execution fails as `timeout` instead of starting. */
  @IsOptional()
  @IsISO8601()
  deadline?: string;
}

export interface RequestExecutionResult {
  execution: ExecutionRecord;
  /** The key was seen before: nothing new was queued (a finished one's result was published again). */
  duplicate: boolean;
}

/**
 * Records a queued execution in the caller's transaction (a consumer's, so the event is processed
 * exactly when the execution is queued), with the active trace context, and hands it to the workers
 * once that commits. A duplicate
 * key queues nothing: a finished execution's ExecutionCompleted is published again (same
 * idempotency_key) without calling any provider; an unfinished one is left to its worker.
 */
@Injectable()
export class RequestExecutionUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repository: ExecutionRepository,
    private readonly worker: ExecutionWorker,
    private readonly recorder: ExecutionRecorder,
  ) {}

  async execute(input: RequestExecutionCommand, tx: SqlExecutor): Promise<RequestExecutionResult> {
    const c = toValidCommand(RequestExecutionCommand, input);
    const existing = await this.repository.byIdempotencyKey(c.idempotencyKey, tx);
    if (existing) return this.duplicate(existing, tx);
    const wanted = c.executionId && UUID.test(c.executionId) ? c.executionId : undefined;
    const id = wanted && !(await this.repository.get(wanted, tx)) ? wanted : randomUUID();
    const record: ExecutionRecord = {
      id,
      kind: 'command',
      status: 'queued',
      idempotencyKey: c.idempotencyKey,
      userId: c.userId,
      teamId: c.teamId || undefined,
      via: c.via,
      agent: c.agent,
      command: c.command,
      templateSelector: c.version !== undefined ? String(c.version) : (c.label ?? 'production'),
      runId: c.runId || undefined,
      stepId: c.stepId || undefined,
      attempt: c.attempt,
      offline: false,
      streamed: false,
      request: {
        inputs: c.inputs,
        version: c.version,
        label: c.label,
        provider: c.provider || undefined,
        model: c.model || undefined,
        maxTokens: c.maxTokens || undefined,
        knowledgeTopK: c.knowledgeTopK || undefined,
        roles: c.roles,
        deadline: c.deadline,
      },
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      usageEstimated: false,
      // The consumer's span (whose parent is the requester's) or the HTTP request's: the worker runs in it.
      traceContext: currentTraceContext(),
    };
    if (!(await this.repository.insertQueued(record, tx))) {
      const raced = await this.repository.byIdempotencyKey(c.idempotencyKey, tx);
      if (raced) return this.duplicate(raced, tx);
      throw new Error(`execution ${id} could not be queued`);
    }
    this.afterCommit(tx, () => this.worker.kick(id));
    return { execution: record, duplicate: false };
  }

  /**
   * A request that cannot even be queued (bad fields): recorded as a failed execution with
   * ExecutionCompleted (`invalid_input`), once per idempotency key, so the requester hears back.
   */
  async reject(input: RequestExecutionCommand, error: ApiError, tx: SqlExecutor): Promise<void> {
    const key = String(input.idempotencyKey || '').slice(0, 300) || `invalid:${randomUUID()}`;
    const existing = await this.repository.byIdempotencyKey(key, tx);
    if (existing) {
      await this.duplicate(existing, tx);
      return;
    }
    const now = new Date().toISOString();
    const record: ExecutionRecord = {
      id:
        input.executionId && UUID.test(input.executionId) && !(await this.repository.get(input.executionId, tx))
          ? input.executionId
          : randomUUID(),
      kind: 'command',
      status: 'failed',
      idempotencyKey: key,
      userId: String(input.userId || 'unknown').slice(0, 200),
      teamId: input.teamId || undefined,
      via: 'event',
      agent: String(input.agent ?? '').slice(0, 200) || undefined,
      command: String(input.command ?? '').slice(0, 200) || undefined,
      runId: input.runId || undefined,
      stepId: input.stepId || undefined,
      attempt: input.attempt,
      offline: false,
      streamed: false,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      usageEstimated: false,
      errorCode: 'invalid_input',
      errorMessage: error.message,
      retryable: false,
      durationMs: 0,
      startedAt: now,
      completedAt: now,
    };
    const item = { record, usage: false, completed: true };
    const written = await this.recorder.recordIn(tx, [item]);
    if (written.has(record.id)) this.recorder.count(item);
  }

  private async duplicate(existing: ExecutionRecord, tx: SqlExecutor): Promise<RequestExecutionResult> {
    if (existing.status === 'succeeded' || existing.status === 'failed') {
      await this.ctx.outbox.add(tx, Topics.ExecutionCompleted, executionCompletedOf(existing), {
        key: completedKey(existing),
      });
    } else {
      this.afterCommit(tx, () => this.worker.kick(existing.id));
    }
    return { execution: existing, duplicate: true };
  }

  private afterCommit(tx: SqlExecutor, fn: () => void): void {
    const hooks = commitHooksOf(tx);
    if (hooks) hooks.onCommit(fn);
    else setTimeout(fn, 0);
  }
}
