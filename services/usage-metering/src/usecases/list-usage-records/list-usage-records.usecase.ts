import { Inject, Injectable } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { usd } from '../../domain/money';
import { UsageQueryRepository } from '../../repositories/usage-query.repository';

/** GET /v1/usage/records: individual usage records, newest first. */
export class ListUsageRecordsCommand {
  /** ISO time or date (default: 24 hours ago). */
  @IsOptional()
  @IsISO8601()
  since?: string;

  @IsOptional()
  @IsISO8601()
  until?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  userId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  agent?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  /** Only records stored without a price. */
  @IsOptional()
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  @IsBoolean()
  unpriced?: boolean;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @Matches(/^[0-9TZ:.+-]+_[0-9a-f-]{36}$/i)
  cursor?: string;
}

@Injectable()
export class ListUsageRecordsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly usage: UsageQueryRepository,
  ) {}

  async execute(command: ListUsageRecordsCommand) {
    const now = this.clock.now();
    const since = command.since ? new Date(command.since) : new Date(now.getTime() - 86_400_000);
    const until = command.until ? new Date(command.until) : new Date(now.getTime() + 60_000);
    if (since > until) throw ApiError.badRequest('since', 'must not be after until');
    const limit = command.limit ?? 100;
    let before: { occurredAt: string; id: string } | undefined;
    if (command.cursor) {
      const i = command.cursor.lastIndexOf('_');
      before = { occurredAt: command.cursor.slice(0, i), id: command.cursor.slice(i + 1) };
    }
    const rows = await this.usage.records(
      this.ctx.db,
      {
        since,
        until,
        userId: command.userId,
        agent: command.agent,
        model: command.model,
        unpricedOnly: command.unpriced,
      },
      limit,
      before,
    );
    const records = rows.map((r) => ({
      id: r.id,
      requestId: r.request_id,
      userId: r.user_id,
      teamId: r.team_id || null,
      agent: r.agent_id,
      command: r.command,
      provider: r.provider,
      model: r.model,
      inputTokens: Number(r.tokens_input),
      outputTokens: Number(r.tokens_output),
      cachedInputTokens: Number(r.cached_input_tokens),
      costUsd: usd(r.cost),
      priced: r.priced,
      runId: r.run_id || null,
      templateVersion: r.template_version || null,
      reservationId: r.reservation_id,
      occurredAt: new Date(r.occurred_at).toISOString(),
      day: r.usage_day,
      recordedAt: new Date(r.created_at).toISOString(),
    }));
    const last = records[records.length - 1];
    return { records, nextCursor: records.length === limit && last ? `${last.occurredAt}_${last.id}` : null };
  }
}
