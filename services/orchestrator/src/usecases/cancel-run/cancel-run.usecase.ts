import { Inject, Injectable } from '@nestjs/common';
import { IsObject, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { Clock } from '../../engine/clock';
import { RunEngine } from '../../engine/run-engine';
import { Work } from '../../engine/work';
import { RunRepository } from '../../repositories/run.repository';
import { TERMINAL_RUN } from '../../repositories/rows';
import { canSeeRun, validCommand } from '../shared/validate-command';

export class CancelRunCommand {
  @IsUUID()
  runId!: string;

  @IsObject()
  identity!: Identity;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

/** Cancels a run: queued steps never start, running ones are told (CANCELLED), late results are ignored. */
@Injectable()
export class CancelRunUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly runs: RunRepository,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  async execute(input: CancelRunCommand): Promise<{ runId: string; status: string }> {
    const command = await validCommand(CancelRunCommand, input);
    return transactionWithHooks(this.ctx.db, async (tx) => {
      const run = await this.runs.lock(tx, command.runId);
      if (!run || !canSeeRun(command.identity, run)) throw ApiError.notFound('run', command.runId);
      if (TERMINAL_RUN.has(run.status)) {
        throw new ApiError(409, 'run_finished', `run ${run.id} has already ${run.status}`, {
          field: 'run',
          reason: `run is ${run.status}`,
        });
      }
      const w = new Work(tx, this.clock.now());
      await this.engine.cancelRun(w, run, command.identity.subject, command.reason);
      await this.engine.flush(w);
      return { runId: run.id, status: run.status };
    });
  }
}
