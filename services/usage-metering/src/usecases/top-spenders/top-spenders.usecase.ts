import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min, Validate } from 'class-validator';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { UsageQueryRepository, type UsageDimension } from '../../repositories/usage-query.repository';
import { CalendarDate } from '../query-usage/calendar-date.validator';
import { dayRange, groupOf } from '../query-usage/query-usage.usecase';

const BY = ['user', 'team', 'agent', 'provider', 'model', 'command'] as const;

/** GET /v1/spend/top: the biggest spenders over a range (default: this month so far). */
export class TopSpendersCommand {
  @IsOptional()
  @IsIn(BY)
  by?: (typeof BY)[number];

  @IsOptional()
  @Validate(CalendarDate)
  from?: string;

  @IsOptional()
  @Validate(CalendarDate)
  to?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

@Injectable()
export class TopSpendersUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly usage: UsageQueryRepository,
  ) {}

  async execute(command: TopSpendersCommand) {
    const starts = this.config.calendar.periodsOf(this.clock.now());
    const range = dayRange(command.from ?? (command.to ? undefined : starts.month), command.to, starts.day);
    const by: UsageDimension = command.by ?? 'user';
    const rows = await this.usage.top(this.ctx.db, range, by, command.limit ?? 10);
    return { timeZone: this.config.timeZone, ...range, by, top: rows.map((r) => groupOf(r, [by])) };
  }
}
