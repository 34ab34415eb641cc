import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { usd } from '../../domain/money';
import { PlanRepository, type Plan } from '../../repositories/plan.repository';

/** GET /v1/plans: the plans and their default budgets. */
@Injectable()
export class ListPlansUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly plans: PlanRepository,
  ) {}

  async execute(): Promise<{ plans: Plan[] }> {
    const plans = await this.plans.list(this.ctx.db);
    return {
      plans: plans.map((p) => ({
        ...p,
        budgets: p.budgets.map((b) => ({ period: b.period, softUsd: usd(b.softUsd), hardUsd: usd(b.hardUsd) })),
      })),
    };
  }
}
