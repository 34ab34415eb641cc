import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { normalizeUsd, toPico } from '../../domain/money';
import { PERIODS, type Period } from '../../domain/periods';
import { IsUsdAmount } from '../../domain/usd-amount.validator';
import { BudgetRepository } from '../../repositories/budget.repository';
import { PlanRepository, type Plan } from '../../repositories/plan.repository';
import { SpendRepository } from '../../repositories/spend.repository';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';

export class PlanBudgetInput {
  @IsIn(PERIODS)
  period!: Period;

  @IsOptional()
  @IsUsdAmount()
  softUsd?: string | number | null;

  @IsOptional()
  @IsUsdAmount()
  hardUsd?: string | number | null;
}

/** PUT /v1/plans/:id: a plan and the default budgets its subscribers get. */
export class SetPlanCommand {
  declare id: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(3)
  @ValidateNested({ each: true })
  @Type(() => PlanBudgetInput)
  budgets?: PlanBudgetInput[];
}

export const PLAN_ID = /^[a-z0-9][a-z0-9_-]{0,49}$/;

/** Creates or replaces a plan; its active subscribers' plan budgets follow at once. */
@Injectable()
export class SetPlanUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly plans: PlanRepository,
    private readonly budgets: BudgetRepository,
    private readonly spend: SpendRepository,
  ) {}

  async execute(command: SetPlanCommand): Promise<Plan & { subscribersUpdated: number }> {
    if (!PLAN_ID.test(command.id))
      throw ApiError.badRequest('id', 'a plan id is 1-50 lowercase letters, digits, - or _');
    const budgets = (command.budgets ?? []).map((b, i) => {
      const soft = b.softUsd === undefined || b.softUsd === null ? null : normalizeUsd(b.softUsd);
      const hard = b.hardUsd === undefined || b.hardUsd === null ? null : normalizeUsd(b.hardUsd);
      if (soft === null && hard === null)
        throw ApiError.badRequest(`budgets.${i}.hardUsd`, 'give softUsd, hardUsd or both');
      if (soft !== null && hard !== null && toPico(soft) > toPico(hard))
        throw ApiError.badRequest(`budgets.${i}.softUsd`, 'must not exceed hardUsd');
      return { period: b.period, softUsd: soft, hardUsd: hard };
    });
    if (new Set(budgets.map((b) => b.period)).size !== budgets.length)
      throw ApiError.badRequest('budgets', 'one budget per period');
    const plan: Plan = { id: command.id, name: command.name, description: command.description ?? '', budgets };
    const starts = this.config.calendar.periodsOf(this.clock.now());
    const updated = await this.ctx.db.transaction(async (tx) => {
      await this.spend.lockForBudgetChange(tx);
      await this.plans.upsert(tx, plan);
      const users = await this.plans.subscribers(tx, plan.id);
      for (const user of users) {
        const periods = await this.budgets.applyPlanDefaults(tx, user, plan.id);
        await this.spend.backfill(
          tx,
          periods.map((period) => ({ scope: 'user', scopeId: user, period })),
          starts,
        );
      }
      return users.length;
    });
    const [saved] = await this.plans.list(this.ctx.db, plan.id);
    return { ...saved, subscribersUpdated: updated };
  }
}
