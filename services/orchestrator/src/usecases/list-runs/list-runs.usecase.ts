import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { RunRepository } from '../../repositories/run.repository';
import type { RunStatus } from '../../repositories/rows';
import { runSummaryView, type RunSummaryView } from '../shared/run-view';
import { isPrivileged, validCommand } from '../shared/validate-command';

export class ListRunsCommand {
  @IsObject()
  identity!: Identity;

  /** Another user's runs (admins and operators); others always see their own. */
  @IsOptional()
  @IsString()
  userId?: string;

  @IsOptional()
  @IsIn(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
  status?: RunStatus;

  @IsOptional()
  @IsString()
  workflow?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 20;

  /** The nextCursor of the previous page. */
  @IsOptional()
  @Matches(/^\d+$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;
}

/** Recent runs, newest first, a page at a time. */
@Injectable()
export class ListRunsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly runs: RunRepository,
  ) {}

  async execute(input: ListRunsCommand): Promise<{ runs: RunSummaryView[]; nextCursor: string | null }> {
    const command = await validCommand(ListRunsCommand, input);
    const userId = isPrivileged(command.identity) ? command.userId : command.identity.subject;
    const rows = await this.runs.list(this.ctx.db, {
      userId,
      status: command.status,
      workflowId: command.workflow,
      beforeSeq: command.cursor,
      limit: command.limit + 1,
    });
    const page = rows.slice(0, command.limit);
    return {
      runs: page.map(runSummaryView),
      nextCursor: rows.length > command.limit ? String(page[page.length - 1].seq) : null,
    };
  }
}
