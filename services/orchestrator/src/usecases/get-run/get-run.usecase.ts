import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { DefinitionStore } from '../../definitions/definition-store';
import { RunRepository } from '../../repositories/run.repository';
import { canSeeRun } from '../shared/validate-command';
import { runView } from '../shared/run-view';

export class GetRunCommand {
  runId!: string;
  identity!: Identity;
}

/** A run with its steps, outputs, errors and token usage (its owner, admins, operators, services). */
@Injectable()
export class GetRunUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly runs: RunRepository,
    private readonly definitions: DefinitionStore,
  ) {}

  async execute(command: GetRunCommand): Promise<ReturnType<typeof runView>> {
    if (!isUUID(command.runId)) throw ApiError.notFound('run', command.runId);
    const run = await this.runs.get(this.ctx.db, command.runId);
    if (!run || !canSeeRun(command.identity, run)) throw ApiError.notFound('run', command.runId);
    const steps = await this.runs.steps(this.ctx.db, run.id);
    const def = await this.definitions.forRun(this.ctx.db, run).catch(() => undefined);
    return runView(run, steps, def);
  }
}
