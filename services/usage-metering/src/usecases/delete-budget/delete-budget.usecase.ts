import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { PERIODS, type Period } from '../../domain/periods';
import { BudgetRepository, type BudgetRow } from '../../repositories/budget.repository';
import { PlanRepository } from '../../repositories/plan.repository';
import { SpendRepository, type Scope } from '../../repositories/spend.repository';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { SCOPES, scopeIdOf } from '../set-budget/set-budget.usecase';

/** DELETE /v1/budgets/:id, or DELETE /v1/budgets?scope=&scopeId=&period=. */
export class DeleteBudgetCommand {
  @IsOptional()
  @IsUUID()
  id?: string;

  @IsOptional()
  @IsIn(SCOPES)
  scope?: Scope;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  scopeId?: string;

  @IsOptional()
  @IsIn(PERIODS)
  period?: Period;
}

/**
 * Removes a budget. When it was a user's explicit budget and their plan has a default for the same
 * period, the plan default takes its place again.
 */
@Injectable()
export class DeleteBudgetUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly budgets: BudgetRepository,
    private readonly plans: PlanRepository,
    private readonly spend: SpendRepository,
  ) {}

  async execute(command: DeleteBudgetCommand): Promise<{ deleted: BudgetRow; replacedBy: BudgetRow | null }> {
    const starts = this.config.calendar.periodsOf(this.clock.now());
    return this.ctx.db.transaction(async (tx) => {
      await this.spend.lockForBudgetChange(tx);
      let id = command.id;
      if (!id) {
        if (!command.scope || !command.period)
          throw ApiError.badRequest('id', 'give the budget id, or scope, scopeId and period');
        const found = await this.budgets.find(
          tx,
          command.scope,
          scopeIdOf(command.scope, command.scopeId),
          command.period,
        );
        if (!found) throw ApiError.notFound('budget', `${command.scope}/${command.scopeId ?? ''}/${command.period}`);
        id = found.id;
      }
      const deleted = await this.budgets.delete(tx, id);
      if (!deleted) throw ApiError.notFound('budget', id);
      let replacedBy: BudgetRow | null = null;
      if (deleted.scope === 'user') {
        const sub = await this.plans.getSubscription(tx, deleted.scope_id);
        const inForce = sub && (sub.status === 'active' || sub.status === 'trialing');
        const periods = await this.budgets.applyPlanDefaults(tx, deleted.scope_id, inForce ? sub.plan_id : null);
        await this.spend.backfill(
          tx,
          periods.map((period) => ({ scope: 'user', scopeId: deleted.scope_id, period })),
          starts,
        );
        replacedBy = (await this.budgets.find(tx, 'user', deleted.scope_id, deleted.period)) ?? null;
      }
      return { deleted, replacedBy };
    });
  }
}
