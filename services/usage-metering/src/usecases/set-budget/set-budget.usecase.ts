import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { normalizeUsd, toPico } from '../../domain/money';
import { PERIODS, type Period } from '../../domain/periods';
import { IsUsdAmount } from '../../domain/usd-amount.validator';
import { BudgetRepository } from '../../repositories/budget.repository';
import { SpendRepository, type Scope } from '../../repositories/spend.repository';
import { budgetView, type BudgetView } from '../get-user-spend/get-user-spend.usecase';

export const SCOPES: readonly Scope[] = ['user', 'team', 'global'];

/** PUT /v1/budgets: a soft (notify) and/or hard (stop) limit for a user, a team or everyone. */
export class SetBudgetCommand {
  @IsIn(SCOPES)
  scope!: Scope;

  /** The user or team id; empty (or absent) for the global scope. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  scopeId?: string;

  @IsIn(PERIODS)
  period!: Period;

  @IsOptional()
  @IsUsdAmount()
  softUsd?: string | number | null;

  @IsOptional()
  @IsUsdAmount()
  hardUsd?: string | number | null;

  /** Who set it (from the identity, not the body). */
  declare setBy?: string;
}

/** The scope id a budget is stored under: the user or team id, '' for global. Throws 400 when inconsistent. */
export function scopeIdOf(scope: Scope, scopeId: string | undefined): string {
  const id = (scopeId ?? '').trim();
  if (scope === 'global') {
    if (id && id !== 'global') throw ApiError.badRequest('scopeId', 'must be empty for the global scope');
    return '';
  }
  if (!id) throw ApiError.badRequest('scopeId', `is required for a ${scope} budget`);
  return id;
}

/** Sets (creates or replaces) a budget; an explicit user budget replaces the plan default for its period. */
@Injectable()
export class SetBudgetUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly budgets: BudgetRepository,
    private readonly spend: SpendRepository,
  ) {}

  async execute(command: SetBudgetCommand): Promise<BudgetView> {
    const scopeId = scopeIdOf(command.scope, command.scopeId);
    const soft = command.softUsd === undefined || command.softUsd === null ? null : normalizeUsd(command.softUsd);
    const hard = command.hardUsd === undefined || command.hardUsd === null ? null : normalizeUsd(command.hardUsd);
    if (soft === null && hard === null)
      throw ApiError.badRequest('hardUsd', 'give a soft limit (softUsd), a hard limit (hardUsd) or both');
    if (soft !== null && hard !== null && toPico(soft) > toPico(hard))
      throw ApiError.badRequest('softUsd', `the soft limit ($${soft}) must not exceed the hard limit ($${hard})`);
    const starts = this.config.calendar.periodsOf(this.clock.now());
    const row = await this.ctx.db.transaction(async (tx) => {
      await this.spend.lockForBudgetChange(tx);
      const saved = await this.budgets.upsert(tx, {
        scope: command.scope,
        scopeId,
        period: command.period,
        softUsd: soft,
        hardUsd: hard,
        by: command.setBy ?? 'unknown',
      });
      // Spend earlier in the period counts against a budget set mid-period.
      await this.spend.backfill(tx, [{ scope: saved.scope, scopeId: saved.scope_id, period: saved.period }], starts);
      return saved;
    });
    const standings = await this.spend.allStandings(this.ctx.db, starts, { scope: row.scope, scopeId: row.scope_id });
    return budgetView(standings.find((s) => s.budget_id === row.id)!);
  }
}
