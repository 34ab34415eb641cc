import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { BudgetRepository } from '../../repositories/budget.repository';
import { PlanRepository } from '../../repositories/plan.repository';
import { SpendRepository } from '../../repositories/spend.repository';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { subscriptionView, type SubscriptionView } from '../list-subscriptions/list-subscriptions.usecase';

export const SUBSCRIPTION_STATUSES = ['active', 'trialing', 'past_due', 'canceled'] as const;

/** PUT /v1/subscriptions/:userId: a user's plan, status and current period. */
export class SetSubscriptionCommand {
  declare userId: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  planId!: string;

  @IsOptional()
  @IsIn(SUBSCRIPTION_STATUSES)
  status?: (typeof SUBSCRIPTION_STATUSES)[number];

  @IsOptional()
  @IsISO8601({ strict: true })
  currentPeriodStart?: string;

  @IsOptional()
  @IsISO8601({ strict: true })
  currentPeriodEnd?: string;
}

/**
 * Subscribes a user to a plan (or changes the subscription). While it is active or trialing, the
 * plan's default budgets apply to the user wherever no explicit budget exists; otherwise they go.
 */
@Injectable()
export class SetSubscriptionUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly plans: PlanRepository,
    private readonly budgets: BudgetRepository,
    private readonly spend: SpendRepository,
  ) {}

  async execute(command: SetSubscriptionCommand): Promise<SubscriptionView> {
    const userId = command.userId.trim();
    if (!userId || userId.length > 200) throw ApiError.badRequest('userId', 'is required (at most 200 characters)');
    if (
      command.currentPeriodStart &&
      command.currentPeriodEnd &&
      new Date(command.currentPeriodStart) >= new Date(command.currentPeriodEnd)
    )
      throw ApiError.badRequest('currentPeriodEnd', 'must be after currentPeriodStart');
    const status = command.status ?? 'active';
    const starts = this.config.calendar.periodsOf(this.clock.now());
    return this.ctx.db.transaction(async (tx) => {
      await this.spend.lockForBudgetChange(tx);
      const [plan] = await this.plans.list(tx, command.planId);
      if (!plan) throw ApiError.badRequest('planId', `unknown plan ${command.planId} (see GET /v1/plans)`);
      const row = await this.plans.upsertSubscription(tx, {
        userId,
        planId: plan.id,
        status,
        periodStart: command.currentPeriodStart ?? null,
        periodEnd: command.currentPeriodEnd ?? null,
      });
      const inForce = status === 'active' || status === 'trialing';
      const periods = await this.budgets.applyPlanDefaults(tx, userId, inForce ? plan.id : null);
      await this.spend.backfill(
        tx,
        periods.map((period) => ({ scope: 'user', scopeId: userId, period })),
        starts,
      );
      return subscriptionView(row);
    });
  }
}
