import { Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { ExecutionRepository, type ExecutionRecord } from '../../repositories/execution.repository';
import { meteringUser, type Caller } from '../caller';
import { toValidCommand } from '../valid-command';

export class GetExecutionQuery {
  @IsUUID(undefined, { message: 'id must be an execution id (a UUID)' })
  id!: string;
}

/** What `GET /v1/executions/:id` shows (the queued request's internals are not). */
export interface ExecutionView {
  id: string;
  kind: string;
  status: string;
  agent?: string;
  command?: string;
  templateVersion?: number;
  provider?: string;
  model?: string;
  offline: boolean;
  streamed: boolean;
  output?: string;
  sections?: Record<string, string>;
  prompt?: string;
  knowledgeSources?: unknown[];
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number; estimated: boolean };
  error?: { code: string; message?: string; retryable?: boolean };
  durationMs?: number;
  runId?: string;
  stepId?: string;
  createdAt?: string;
  startedAt?: string;
  completedAt?: string;
}

export function executionView(r: ExecutionRecord): ExecutionView {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    agent: r.agent,
    command: r.command,
    templateVersion: r.templateVersion,
    provider: r.provider,
    model: r.model,
    offline: r.offline,
    streamed: r.streamed,
    output: r.output,
    sections: r.sections,
    prompt: r.prompt,
    knowledgeSources: r.knowledgeSources,
    usage: {
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      cachedInputTokens: r.cachedInputTokens,
      estimated: r.usageEstimated,
    },
    ...(r.errorCode ? { error: { code: r.errorCode, message: r.errorMessage, retryable: r.retryable } } : {}),
    durationMs: r.durationMs,
    runId: r.runId,
    stepId: r.stepId,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    completedAt: r.completedAt,
  };
}

/** One execution: its owner, admins, operators and the platform's services may read it (others get 404). */
@Injectable()
export class GetExecutionUseCase {
  constructor(private readonly repository: ExecutionRepository) {}

  async execute(query: GetExecutionQuery, caller: Caller): Promise<ExecutionView> {
    const { id } = toValidCommand(GetExecutionQuery, query);
    const r = await this.repository.get(id);
    const identity = caller.identity;
    const allowed =
      r !== undefined &&
      (identity.kind === 'service' ||
        identity.roles.includes('admin') ||
        identity.roles.includes('operator') ||
        r.userId === meteringUser(identity));
    if (!r || !allowed) throw ApiError.notFound('execution', id);
    return executionView(r);
  }
}
