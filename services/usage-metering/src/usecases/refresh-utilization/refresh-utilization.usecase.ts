import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { periodAdjective, PERIODS } from '../../domain/periods';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import { SpendRepository } from '../../repositories/spend.repository';

/** Sets hishamos_budget_utilization_ratio{scope,period}: the most used budget of each kind, this period. */
@Injectable()
export class RefreshUtilizationUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly spend: SpendRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  async execute(): Promise<void> {
    const rows = await this.spend.utilization(this.ctx.db, this.config.calendar.periodsOf(this.clock.now()));
    const seen = new Set<string>();
    for (const r of rows) {
      const labels = { scope: r.scope, period: periodAdjective(r.period) };
      seen.add(`${labels.scope}:${labels.period}`);
      this.metrics.utilization.set(labels, r.ratio === null ? 0 : Number(r.ratio));
    }
    // Budget kinds that no longer exist stop reporting.
    for (const scope of ['user', 'team', 'global'])
      for (const period of PERIODS.map(periodAdjective))
        if (!seen.has(`${scope}:${period}`)) this.metrics.utilization.remove({ scope, period });
  }
}
