import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { SpendRepository, type Scope } from '../../repositories/spend.repository';
import { budgetView, type BudgetView } from '../get-user-spend/get-user-spend.usecase';
import { SCOPES } from '../set-budget/set-budget.usecase';

/**
 * GET /v1/budgets. `appliesTo` narrows the list to the budgets that apply to one user (their own,
 * their team's, the global ones): what a person who is not an admin or operator sees of their own.
 */
export class ListBudgetsCommand {
  @IsOptional()
  @IsIn(SCOPES)
  scope?: Scope;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  scopeId?: string;

  declare appliesTo?: { userId: string; teamId: string };
}

@Injectable()
export class ListBudgetsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly spend: SpendRepository,
  ) {}

  async execute(command: ListBudgetsCommand): Promise<{ timeZone: string; budgets: BudgetView[] }> {
    const starts = this.config.calendar.periodsOf(this.clock.now());
    const rows = command.appliesTo
      ? await this.spend.standings(this.ctx.db, command.appliesTo.userId, command.appliesTo.teamId, starts)
      : await this.spend.allStandings(this.ctx.db, starts, {
          scope: command.scope,
          scopeId: command.scope === 'global' ? '' : command.scopeId,
        });
    return { timeZone: this.config.timeZone, budgets: rows.map(budgetView) };
  }
}
