import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { PlanRepository, type SubscriptionRow } from '../../repositories/plan.repository';

export class ListSubscriptionsCommand {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  userId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(50)
  planId?: string;

  @IsOptional()
  @IsIn(['active', 'trialing', 'past_due', 'canceled'])
  status?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export interface SubscriptionView {
  id: string;
  userId: string;
  planId: string;
  status: string;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  updatedAt: string;
}

const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());

export function subscriptionView(r: SubscriptionRow): SubscriptionView {
  return {
    id: r.id,
    userId: r.user_id,
    planId: r.plan_id,
    status: r.status,
    currentPeriodStart: iso(r.current_period_start),
    currentPeriodEnd: iso(r.current_period_end),
    updatedAt: iso(r.updated_at)!,
  };
}

/** GET /v1/subscriptions (admins: any; others: their own) and GET /v1/subscriptions/:userId. */
@Injectable()
export class ListSubscriptionsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly plans: PlanRepository,
  ) {}

  async execute(command: ListSubscriptionsCommand): Promise<{ subscriptions: SubscriptionView[] }> {
    if (command.userId) {
      const row = await this.plans.getSubscription(this.ctx.db, command.userId);
      return { subscriptions: row ? [subscriptionView(row)] : [] };
    }
    const rows = await this.plans.listSubscriptions(this.ctx.db, {
      planId: command.planId,
      status: command.status,
      limit: command.limit ?? 100,
    });
    return { subscriptions: rows.map(subscriptionView) };
  }

  async one(userId: string): Promise<SubscriptionView> {
    const row = await this.plans.getSubscription(this.ctx.db, userId);
    if (!row) throw ApiError.notFound('subscription of user', userId);
    return subscriptionView(row);
  }
}
