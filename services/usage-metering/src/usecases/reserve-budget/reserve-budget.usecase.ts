import { Inject, Injectable } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { describeBudget } from '../../domain/budget-names';
import { fromPico, toPico, usd } from '../../domain/money';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import type { ReserveResult } from '../../repositories/reservation.repository';
import { SpendRepository } from '../../repositories/spend.repository';
import { budgetEvent } from '../ingest-usage/ingest-usage.usecase';
import { ReserveBudgetCommand } from './reserve-budget.command';
import { ReservationBatcher } from './reservation-batcher';

export interface ReservationGranted {
  reservationId: string;
  granted: true;
  amountUsd: string;
  expiresAt: string;
}

/**
 * Grants a reservation of the call's worst-case cost (input tokens at the input price plus
 * max_tokens at the output price) only if every applicable hard limit (the user's, their team's,
 * the global ones, per day/week/month) still holds with it, atomically in the database. Denied:
 * 403 budget_exceeded naming the budget (and the first refusal per budget and period publishes a
 * hard-limit event); an unknown model under a hard limit: 403 unpriced_model. Concurrent requests
 * are decided together in one statement (ReservationBatcher), in arrival order.
 */
@Injectable()
export class ReserveBudgetUseCase {
  /** Refusals already recorded (budget + period): the event exists, skip the round trip. */
  private readonly refused = new Set<string>();

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly batcher: ReservationBatcher,
    private readonly spend: SpendRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  async execute(command: ReserveBudgetCommand): Promise<ReservationGranted> {
    const started = process.hrtime.bigint();
    const request = {
      requestId: command.requestId,
      userId: command.userId,
      teamId: command.teamId ?? '',
      provider: command.provider,
      model: command.model,
      agent: command.agent ?? '',
      command: command.command ?? '',
      inputTokens: command.inputTokens,
      maxOutputTokens: command.maxOutputTokens,
    };
    let result = await this.batcher.reserve(request);
    for (let attempt = 0; result.outcome === 'missing_counters'; attempt++) {
      if (attempt >= 3) throw new Error('spend counters could not be created');
      const starts = this.config.calendar.periodsOf(this.clock.now());
      await this.spend.ensureCounters(this.ctx.db, request.userId, request.teamId, starts);
      result = await this.batcher.reserve(request);
    }
    const outcome = result.outcome === 'existing' ? 'granted' : result.outcome;
    this.metrics.reservations.inc({ outcome });
    this.metrics.reservationSeconds.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    if (result.outcome === 'granted' || result.outcome === 'existing') {
      return {
        reservationId: result.reservation_id!,
        granted: true,
        amountUsd: fromPico(toPico(result.amount_usd!)),
        expiresAt: result.expires_at!,
      };
    }
    if (result.outcome === 'unpriced') {
      throw new ApiError(
        403,
        'unpriced_model',
        `no price is known for ${command.provider}/${command.model} and ${describeBudget(result.scope!, result.scope_id!, result.period!)} has a hard limit: add a price (PUT /v1/prices) before using this model`,
        {
          field: 'model',
          reason: 'unpriced model under a hard limit',
          details: {
            provider: command.provider,
            model: command.model,
            scope: result.scope,
            scopeId: result.scope_id,
            period: result.period,
          },
        },
      );
    }
    await this.recordRefusal(result);
    const limit = usd(result.limit_usd)!;
    const spent = usd(result.spent_usd)!;
    const reserved = usd(result.reserved_usd)!;
    const amount = usd(result.amount_usd)!;
    throw new ApiError(
      403,
      'budget_exceeded',
      `${describeBudget(result.scope!, result.scope_id!, result.period!)} would be exceeded: hard limit $${limit}, spent $${spent}, reserved $${reserved}, this call may cost up to $${amount}`,
      {
        reason: 'hard limit reached',
        details: {
          budgetId: result.budget_id,
          scope: result.scope,
          scopeId: result.scope_id,
          period: result.period,
          periodStart: result.period_start,
          limitUsd: limit,
          spentUsd: spent,
          reservedUsd: reserved,
          requestedUsd: amount,
        },
      },
    );
  }

  /** The first refusal of a budget in a period is its hard-limit event (once, by the unique key). */
  private async recordRefusal(r: ReserveResult): Promise<void> {
    const key = `${r.scope}\u0000${r.scope_id}\u0000${r.period}\u0000${r.period_start}`;
    if (this.refused.has(key)) return;
    const crossing = {
      scope: r.scope!,
      scope_id: r.scope_id!,
      period: r.period!,
      period_start: r.period_start ?? this.config.calendar.periodsOf(this.clock.now())[r.period!],
      budget_id: r.budget_id!,
      spent_usd: r.spent_usd!,
      limit_usd: r.limit_usd!,
    };
    const recorded = await transactionWithHooks(this.ctx.db, async (tx) => {
      if (!(await this.spend.recordRefusal(tx, crossing))) return false;
      const { payload, opts } = budgetEvent({ ...crossing, threshold: 'hard' }, this.config.timeZone, 'denied');
      await this.ctx.outbox.add(tx, Topics.BudgetThresholdCrossed, payload, opts);
      return true;
    });
    if (recorded) this.metrics.budgetEvents.inc({ kind: 'hard_limit' });
    if (this.refused.size > 10_000) this.refused.clear();
    this.refused.add(key);
  }
}
