import { Inject, Injectable } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, Validate } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { usd } from '../../domain/money';
import { addDays, isCalendarDate } from '../../domain/periods';
import {
  USAGE_DIMENSIONS,
  UsageQueryRepository,
  type UsageDimension,
  type UsageFilter,
  type UsageTotalsRow,
} from '../../repositories/usage-query.repository';
import { CalendarDate } from './calendar-date.validator';

const splitList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;

/** GET /v1/usage: cost and tokens over a range of days (BUDGET_TIME_ZONE), grouped as asked. */
export class QueryUsageCommand {
  /** First day, YYYY-MM-DD (default: 29 days before `to`). */
  @IsOptional()
  @Validate(CalendarDate)
  from?: string;

  /** Last day, YYYY-MM-DD, inclusive (default: today). */
  @IsOptional()
  @Validate(CalendarDate)
  to?: string;

  /** Comma-separated: user, team, agent, provider, model, command, day (default: day). */
  @IsOptional()
  @Transform(splitList)
  @ArrayMaxSize(7)
  @IsIn(USAGE_DIMENSIONS, { each: true })
  groupBy?: UsageDimension[];

  @IsOptional()
  @IsString()
  @MaxLength(200)
  userId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  teamId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  agent?: string;

  @IsOptional()
  @IsString()
  @MaxLength(50)
  provider?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  command?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  limit?: number;
}

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: string;
  unpricedRequests: number;
}

export type UsageGroup = Partial<Record<UsageDimension, string>> & UsageTotals;

export function totalsOf(r: UsageTotalsRow | undefined): UsageTotals {
  return {
    requests: Number(r?.requests ?? 0),
    inputTokens: Number(r?.tokens_input ?? 0),
    outputTokens: Number(r?.tokens_output ?? 0),
    cachedInputTokens: Number(r?.cached_input_tokens ?? 0),
    costUsd: usd(r?.cost ?? '0')!,
    unpricedRequests: Number(r?.unpriced_requests ?? 0),
  };
}

export function groupOf(r: UsageTotalsRow, dims: UsageDimension[]): UsageGroup {
  return { ...Object.fromEntries(dims.map((d) => [d, r[d]])), ...totalsOf(r) };
}

/** The day range of a query, checked: defaults to the last 30 days ending today. */
export function dayRange(from: string | undefined, to: string | undefined, today: string, defaultDays = 30) {
  const end = to ?? today;
  const start = from ?? addDays(end, -(defaultDays - 1));
  if (start > end) throw ApiError.badRequest('from', `must not be after to (${start} > ${end})`);
  if (!isCalendarDate(start) || !isCalendarDate(end)) throw ApiError.badRequest('from', 'must be YYYY-MM-DD');
  return { from: start, to: end };
}

/**
 * Cost and tokens by user, team, agent, provider, model, command and/or day over a range, with the
 * totals, from the daily aggregates (days in BUDGET_TIME_ZONE).
 */
@Injectable()
export class QueryUsageUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly usage: UsageQueryRepository,
  ) {}

  async execute(command: QueryUsageCommand) {
    const range = dayRange(command.from, command.to, this.config.calendar.dateOf(this.clock.now()));
    const groupBy = [...new Set(command.groupBy?.length ? command.groupBy : (['day'] as UsageDimension[]))];
    const filter: UsageFilter = {
      ...range,
      userId: command.userId,
      teamId: command.teamId,
      agent: command.agent,
      provider: command.provider,
      model: command.model,
      command: command.command,
    };
    const limit = command.limit ?? 1000;
    const [rows, totals] = await Promise.all([
      this.usage.aggregate(this.ctx.db, filter, groupBy, limit),
      this.usage.aggregate(this.ctx.db, filter, [], 1),
    ]);
    return {
      timeZone: this.config.timeZone,
      ...range,
      groupBy,
      filters: Object.fromEntries(
        Object.entries({
          userId: command.userId,
          teamId: command.teamId,
          agent: command.agent,
          provider: command.provider,
          model: command.model,
          command: command.command,
        }).filter(([, v]) => v !== undefined),
      ),
      rows: rows.map((r) => groupOf(r, groupBy)),
      totals: totalsOf(totals[0]),
      truncated: rows.length >= limit,
    };
  }
}
