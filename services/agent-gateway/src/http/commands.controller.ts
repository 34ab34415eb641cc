import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res, UseInterceptors } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ApiError, CurrentIdentity, type Identity } from '@hishamos/platform';
import { RequestTraceInterceptor } from './request-trace.interceptor';
import type { Caller } from '../usecases/caller';
import { providerFailure } from '../usecases/execute-command/execute-command.usecase';
import { executionView, GetExecutionUseCase } from '../usecases/get-execution/get-execution.usecase';
import { RunCommandUseCase } from '../usecases/run-command/run-command.usecase';

/** The body of `POST /v1/agents/:slug/commands/:command`. */
export class RunCommandBody {
  /** The command's inputs (its input schema's properties). */
  @IsObject()
  inputs!: Record<string, unknown>;

  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;

  @IsOptional()
  @Matches(/^[a-z][a-z0-9_-]{0,39}$/, { message: 'label must be a template label such as production or canary' })
  label?: string;

  @IsOptional()
  @IsString()
  @MaxLength(50)
  provider?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxTokens?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20)
  knowledgeTopK?: number;
}

const caller = (identity: Identity): Caller => ({ identity, via: identity.via });

/** HishamOS's own API for running agent commands and reading executions. */
@Controller('v1')
@UseInterceptors(RequestTraceInterceptor)
export class CommandsController {
  constructor(
    private readonly runCommand: RunCommandUseCase,
    private readonly getExecution: GetExecutionUseCase,
  ) {}

  /**
   * Runs one command. Synchronous by default (200 with the execution); `?async=true` answers 202 with
   * the execution id at once (poll `GET /v1/executions/:id`). Inputs, permission and the template are
   * checked before either answer. `Idempotency-Key` makes a retried request return the first one's
   * execution instead of running again.
   */
  @Post('agents/:slug/commands/:command')
  @HttpCode(200)
  async run(
    @Param('slug') slug: string,
    @Param('command') command: string,
    @Query('async') asyncParam: string | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: RunCommandBody,
    @CurrentIdentity() identity: Identity,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (asyncParam !== undefined && !['true', 'false', '1', '0'].includes(asyncParam))
      throw ApiError.badRequest('async', 'must be true or false');
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 200))
      throw ApiError.badRequest('Idempotency-Key', 'must be 1 to 200 characters');
    const wantsAsync = asyncParam === 'true' || asyncParam === '1';
    const result = await this.runCommand.execute(
      { ...body, agent: slug, command, async: wantsAsync, idempotencyKey },
      caller(identity),
    );
    const view = executionView(result.execution);
    if (wantsAsync || result.execution.status === 'queued' || result.execution.status === 'running') {
      void reply.status(202).header('location', `/v1/executions/${view.id}`);
      return {
        id: view.id,
        status: view.status,
        duplicate: result.duplicate,
        links: { self: `/v1/executions/${view.id}` },
      };
    }
    if (result.execution.status === 'failed') throw providerFailure(result.execution);
    return view;
  }

  @Get('executions/:id')
  get(@Param('id') id: string, @CurrentIdentity() identity: Identity) {
    return this.getExecution.execute({ id }, caller(identity));
  }
}
