import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable } from '@nestjs/common';
import { Allow, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { estimateTokens, ProviderError, type EmbeddingResult } from '@hishamos/providers';
import { BUDGET, type BudgetPort } from '../../budget/budget.port';
import { ProviderRouter } from '../../providers/provider-router';
import { ExecutionRecorder } from '../../repositories/execution-recorder';
import { mayRunModels, meteringUser, type Caller } from '../caller';
import { errorCodeOf } from '../execute-command/execute-command.usecase';

/** `POST /v1/embeddings` as OpenAI defines it. */
export class CreateEmbeddingsCommand {
  @IsString()
  @MaxLength(200)
  model!: string;

  /** A string or an array of up to 2048 strings. */
  @Allow()
  input!: unknown;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(8192)
  dimensions?: number;

  @IsOptional()
  @IsIn(['float', 'base64'])
  encoding_format?: 'float' | 'base64';

  @IsOptional()
  @IsString()
  user?: string;
}

export interface EmbeddingsAnswer {
  id: string;
  result: EmbeddingResult;
  encoding: 'float' | 'base64';
}

/** Embeddings through a provider that offers them, with the same permission, budget and metering path. */
@Injectable()
export class CreateEmbeddingsUseCase {
  constructor(
    private readonly router: ProviderRouter,
    private readonly recorder: ExecutionRecorder,
    @Inject(BUDGET) private readonly budget: BudgetPort,
  ) {}

  async execute(command: CreateEmbeddingsCommand, caller: Caller): Promise<EmbeddingsAnswer> {
    const input = typeof command.input === 'string' ? [command.input] : command.input;
    if (
      !Array.isArray(input) ||
      input.length === 0 ||
      input.length > 2048 ||
      input.some((s) => typeof s !== 'string' || s.length === 0)
    )
      throw ApiError.badRequest('input', 'must be a non-empty string or an array of 1 to 2048 non-empty strings');
    if (!mayRunModels(caller.identity))
      throw ApiError.forbidden('your role may not run models (viewers only read)', 'forbidden_role');
    const target = await this.router.resolveModel(command.model);
    if (!target || target.kind !== 'provider')
      throw new ApiError(
        404,
        'model_not_found',
        `the embedding model ${command.model} does not exist or is not configured`,
        { field: 'model', reason: 'unknown model' },
      );
    const provider = await this.router.provider(target.provider);
    if (!provider?.embed)
      throw new ApiError(400, 'embeddings_unsupported', `provider ${target.provider} offers no embeddings`, {
        field: 'model',
        reason: 'no embeddings',
      });
    const id = randomUUID();
    const inputTokens = estimateTokens((input as string[]).join('\n'));
    const reservation = await this.budget.reserve({
      requestId: id,
      userId: meteringUser(caller.identity),
      teamId: caller.identity.teamId,
      provider: provider.id,
      model: target.model,
      inputTokens,
      maxOutputTokens: 0,
    });
    const started = performance.now();
    const base = {
      id,
      kind: 'embedding' as const,
      userId: meteringUser(caller.identity),
      teamId: caller.identity.teamId,
      via: caller.via,
      provider: provider.id,
      model: target.model,
      offline: provider.offline,
      streamed: false,
      outputTokens: 0,
      cachedInputTokens: 0,
      usageEstimated: false,
      startedAt: new Date().toISOString(),
    };
    let result: EmbeddingResult;
    try {
      result = await provider.embed({ model: target.model, input: input as string[], dimensions: command.dimensions });
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (reservation.reservationId) await this.budget.release(reservation.reservationId);
      const f = errorCodeOf(error);
      await this.recorder.record({
        record: {
          ...base,
          status: 'failed',
          inputTokens: 0,
          errorCode: f.code,
          errorMessage: f.message,
          retryable: f.retryable,
          completedAt: new Date().toISOString(),
        },
        usage: false,
        completed: false,
      });
      throw new ApiError(
        error.kind === 'bad_request' ? 400 : 502,
        error.kind === 'bad_request' ? 'provider_rejected' : 'provider_error',
        error.message,
        { reason: f.code },
      );
    }
    await this.recorder.record({
      record: {
        ...base,
        status: 'succeeded',
        inputTokens: result.usage.inputTokens,
        reservationId: reservation.reservationId,
        durationMs: Math.round(performance.now() - started),
        completedAt: new Date().toISOString(),
      },
      usage: result.usage.inputTokens > 0,
      completed: false,
    });
    return { id, result, encoding: command.encoding_format ?? 'float' };
  }
}
