import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsOptional, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { Clock } from '../../engine/clock';
import { RunEngine } from '../../engine/run-engine';
import { Work } from '../../engine/work';
import { RunRepository } from '../../repositories/run.repository';
import { canSeeRun, validCommand } from '../shared/validate-command';

export class DecideApprovalCommand {
  @IsUUID()
  runId!: string;

  @IsString()
  @MinLength(1)
  stepId!: string;

  @IsIn(['approve', 'reject'])
  decision!: 'approve' | 'reject';

  @IsObject()
  identity!: Identity;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

/** A person approves or rejects an approval step: the run resumes, or fails with the rejection. */
@Injectable()
export class DecideApprovalUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly runs: RunRepository,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
  ) {}

  async execute(
    input: DecideApprovalCommand,
  ): Promise<{ runId: string; stepId: string; decision: string; runStatus: string }> {
    const command = await validCommand(DecideApprovalCommand, input);
    const { identity } = command;
    if (identity.kind !== 'user') throw ApiError.forbidden('approvals are decided by people');
    return transactionWithHooks(this.ctx.db, async (tx) => {
      const run = await this.runs.lock(tx, command.runId);
      const w = new Work(tx, this.clock.now());
      const def = run ? await this.engine.definitionFor(w, run) : undefined;
      const cs = def?.byId.get(command.stepId);
      const may = run && cs?.kind === 'approval' && this.engine.mayDecide(identity, cs, false);
      if (!run || (!canSeeRun(identity, run) && !may)) throw ApiError.notFound('run', command.runId);
      if (!cs) throw ApiError.notFound('step', command.stepId);
      if (cs.kind !== 'approval')
        throw new ApiError(409, 'not_an_approval', `step ${cs.id} is an agent step, not an approval`, {
          field: 'step',
          reason: 'not an approval step',
        });
      const step = (await this.runs.steps(tx, run.id)).find((s) => s.step_id === cs.id)!;
      if (step.status !== 'waiting_approval') {
        throw new ApiError(409, 'not_waiting', `step ${cs.id} is ${step.status}, not waiting for approval`, {
          field: 'step',
          reason: `step is ${step.status}`,
        });
      }
      if (!this.engine.mayDecide(identity, cs, step.escalated)) {
        throw ApiError.forbidden(
          `only ${step.escalated ? 'admins and operators (escalated)' : [...new Set(['admin', 'operator', ...cs.approvers])].join(', ')} may decide step ${cs.id}`,
          'forbidden_approver',
        );
      }
      await this.engine.decide(w, run, step, command.decision, identity.subject, command.comment);
      await this.engine.flush(w);
      return {
        runId: run.id,
        stepId: cs.id,
        decision: command.decision === 'approve' ? 'approved' : 'rejected',
        runStatus: run.status,
      };
    });
  }
}
