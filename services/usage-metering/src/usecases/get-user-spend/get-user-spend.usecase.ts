import { Inject, Injectable } from '@nestjs/common';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { fromPico, toPico, usd } from '../../domain/money';
import { PERIODS, type Period } from '../../domain/periods';
import { SpendRepository, type BudgetStanding } from '../../repositories/spend.repository';

export class GetUserSpendCommand {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  teamId?: string;
}

export interface PeriodSpend {
  periodStart: string;
  spentUsd: string;
  reservedUsd: string;
  requests: number;
  softUsd?: string;
  hardUsd?: string;
}

export interface BudgetView {
  budgetId: string;
  scope: string;
  scopeId: string;
  period: Period;
  periodStart: string;
  softUsd: string | null;
  hardUsd: string | null;
  source: string;
  spentUsd: string;
  reservedUsd: string;
  /** What can still be reserved under the hard limit (null without one). */
  remainingUsd: string | null;
  softReached: boolean;
  hardReached: boolean;
}

export interface UserSpend {
  userId: string;
  teamId: string | null;
  timeZone: string;
  asOf: string;
  day: PeriodSpend;
  week: PeriodSpend;
  month: PeriodSpend;
  budgets: BudgetView[];
}

export function budgetView(b: BudgetStanding): BudgetView {
  const spent = toPico(b.spent_usd);
  const reserved = toPico(b.reserved_usd);
  const hard = b.hard_usd === null ? null : toPico(b.hard_usd);
  const soft = b.soft_usd === null ? null : toPico(b.soft_usd);
  const remaining = hard === null ? null : hard - spent - reserved;
  return {
    budgetId: b.budget_id,
    scope: b.scope,
    scopeId: b.scope_id,
    period: b.period,
    periodStart: b.period_start,
    softUsd: usd(b.soft_usd),
    hardUsd: usd(b.hard_usd),
    source: b.source,
    spentUsd: fromPico(spent),
    reservedUsd: fromPico(reserved),
    remainingUsd: remaining === null ? null : fromPico(remaining > 0n ? remaining : 0n),
    softReached: soft !== null && spent >= soft && spent > 0n,
    hardReached: hard !== null && spent >= hard && spent > 0n,
  };
}

/**
 * A user's spend today, this week and this month against the limits that apply to them (their own,
 * their team's, the global ones): the gateway's pre-check and the "spend today" view.
 */
@Injectable()
export class GetUserSpendUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly spend: SpendRepository,
  ) {}

  async execute(command: GetUserSpendCommand): Promise<UserSpend> {
    const now = this.clock.now();
    const starts = this.config.calendar.periodsOf(now);
    const teamId = command.teamId ?? '';
    const [standings, counters] = await Promise.all([
      this.spend.standings(this.ctx.db, command.userId, teamId, starts),
      this.spend.counters(this.ctx.db, 'user', command.userId, starts),
    ]);
    const periods = {} as Record<Period, PeriodSpend>;
    for (const period of PERIODS) {
      const c = counters.find((x) => x.period === period);
      const own = standings.find((b) => b.scope === 'user' && b.period === period);
      periods[period] = {
        periodStart: starts[period],
        spentUsd: usd(c?.spent_usd ?? '0')!,
        reservedUsd: usd(c?.reserved_usd ?? '0')!,
        requests: Number(c?.requests ?? 0),
        ...(own?.soft_usd ? { softUsd: usd(own.soft_usd)! } : {}),
        ...(own?.hard_usd ? { hardUsd: usd(own.hard_usd)! } : {}),
      };
    }
    return {
      userId: command.userId,
      teamId: teamId || null,
      timeZone: this.config.timeZone,
      asOf: now.toISOString(),
      ...periods,
      budgets: standings.map(budgetView),
    };
  }
}
