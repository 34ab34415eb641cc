import { Inject, Injectable } from '@nestjs/common';
import {
  BudgetPeriod,
  BudgetScope,
  BudgetThreshold,
  Topics,
  type Envelope,
  type PayloadInit,
} from '@hishamos/contracts';
import { commitHooksOf, type Outbox } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { fromPico, toPico } from '../../domain/money';
import { toUsageRecord, type UsageRecord } from '../../domain/usage-record';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import { ReservationRepository, type Settlement } from '../../repositories/reservation.repository';
import {
  SpendRepository,
  type CounterDelta,
  type CrossedThreshold,
  type Scope,
} from '../../repositories/spend.repository';
import { UsageRepository, type UsageRow } from '../../repositories/usage.repository';

/**
 * A batch of UsageRecorded events to ingest inside the consumer's transaction. The events are
 * validated by `toUsageRecord` (hand-written checks, not class-validator: this is the hot path,
 * thousands of records a second); one bad record fails the batch with a non-retryable error, the
 * bus then retries the events one at a time and dead-letters the bad one with its reason.
 */
export class IngestUsageCommand {
  constructor(
    readonly events: readonly Envelope<typeof Topics.UsageRecorded>[],
    readonly tx: SqlExecutor,
    readonly outbox: Outbox,
  ) {}
}

export interface IngestUsageResult {
  received: number;
  inserted: number;
  settled: number;
  budgetEvents: number;
}

const SCOPE_ENUM: Record<Scope, BudgetScope> = {
  user: BudgetScope.USER,
  team: BudgetScope.TEAM,
  global: BudgetScope.GLOBAL,
};
const PERIOD_ENUM = { day: BudgetPeriod.DAY, week: BudgetPeriod.WEEK, month: BudgetPeriod.MONTH } as const;

/** The BudgetThresholdCrossed event for a crossing (its id is deterministic: one event per budget, period, threshold). */
export function budgetEvent(c: CrossedThreshold, timeZone: string, reason: 'spend' | 'denied' = 'spend') {
  const payload: PayloadInit<typeof Topics.BudgetThresholdCrossed> = {
    budgetId: c.budget_id,
    scope: SCOPE_ENUM[c.scope],
    scopeId: c.scope_id,
    period: PERIOD_ENUM[c.period],
    periodStart: c.period_start,
    threshold: c.threshold === 'soft' ? BudgetThreshold.SOFT : BudgetThreshold.HARD,
    spendUsd: fromPico(toPico(c.spent_usd)),
    limitUsd: fromPico(toPico(c.limit_usd)),
    timeZone,
    reason,
  };
  return {
    payload,
    opts: {
      key: c.scope === 'global' ? 'global' : `${c.scope}:${c.scope_id}`,
      id: `budget:${c.scope}:${c.scope_id}:${c.period}:${c.period_start}:${c.threshold}`,
    },
  };
}

/**
 * Records usage exactly once per request id: api_usage rows priced in NUMERIC at the price in effect
 * at each record's time, daily aggregates, spend counters for the record's own day (and week/month
 * where budgeted; a late record lands in its period), settlement of the reservation it carries, and the first soft or
 * hard crossing of each budget in a period as a BudgetThresholdCrossed event, all in the consumer's
 * transaction (with the processed-event ids), so a crash before commit loses and duplicates nothing.
 */
@Injectable()
export class IngestUsageUseCase {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly usage: UsageRepository,
    private readonly reservations: ReservationRepository,
    private readonly spend: SpendRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  async execute(command: IngestUsageCommand): Promise<IngestUsageResult> {
    const { tx, outbox } = command;
    const now = this.clock.now();
    const rows = new Map<string, UsageRow>();
    for (const event of command.events) {
      const record: UsageRecord = toUsageRecord(event, now);
      if (rows.has(record.requestId)) continue; // the same request twice in one batch counts once
      rows.set(record.requestId, { ...record, usageDay: this.config.calendar.dateOf(record.occurredAt) });
    }
    const inserted = await this.usage.insertBatch(tx, [...rows.values()]);
    if (inserted.length === 0) return { received: command.events.length, inserted: 0, settled: 0, budgetEvents: 0 };

    const counters = new Map<string, { delta: CounterDelta; spent: bigint; reserved: bigint }>();
    const counter = (scope: Scope, scopeId: string, period: CounterDelta['period'], periodStart: string) => {
      const key = `${scope}\u0000${scopeId}\u0000${period}\u0000${periodStart}`;
      let c = counters.get(key);
      if (!c) {
        c = {
          delta: { scope, scopeId, period, periodStart, spent: '0', reserved: '0', requests: 0 },
          spent: 0n,
          reserved: 0n,
        };
        counters.set(key, c);
      }
      return c;
    };
    const settlements: Settlement[] = [];
    const done: { record: UsageRow; cost: bigint | null }[] = [];
    for (const ins of inserted) {
      const r = rows.get(ins.request_id)!;
      const cost = ins.cost === null ? null : toPico(ins.cost);
      done.push({ record: r, cost });
      // The record's own day (a late record lands in its day); the statement carries day spend on to
      // the week and month counters of scopes with such budgets.
      const scopes: [Scope, string][] = [
        ['user', r.userId],
        ['global', ''],
      ];
      if (r.teamId) scopes.push(['team', r.teamId]);
      for (const [scope, scopeId] of scopes) {
        const c = counter(scope, scopeId, 'day', r.usageDay);
        c.delta.requests++;
        if (cost !== null) c.spent += cost;
      }
      if (r.reservationId) settlements.push({ reservationId: r.reservationId, cost: ins.cost });
    }

    let settled = 0;
    if (settlements.length) {
      const s = await this.reservations.settle(tx, settlements, now);
      settled = s.settled;
      for (const rel of s.releases)
        counter(rel.scope, rel.scope_id, rel.period, rel.period_start).reserved -= toPico(rel.amount);
    }
    const deltas = [...counters.values()].map((c) => ({
      ...c.delta,
      spent: fromPico(c.spent, 0),
      reserved: fromPico(c.reserved, 0),
    }));
    await this.spend.lockForIngestion(tx);
    const crossed = await this.spend.applyDeltas(tx, deltas);
    for (const c of crossed) {
      const { payload, opts } = budgetEvent(c, this.config.timeZone);
      await outbox.add(tx, Topics.BudgetThresholdCrossed, payload, opts);
    }

    const observe = () => this.observe(done, settled, crossed, now);
    const hooks = commitHooksOf(tx);
    if (hooks) hooks.onCommit(observe);
    else observe();
    return { received: command.events.length, inserted: inserted.length, settled, budgetEvents: crossed.length };
  }

  private observe(
    done: { record: UsageRow; cost: bigint | null }[],
    settled: number,
    crossed: CrossedThreshold[],
    now: Date,
  ): void {
    const m = this.metrics;
    // One increment per label set (a batch has few models and agents).
    const groups = new Map<
      string,
      { r: UsageRow; n: number; priced: number; cost: bigint; i: number; o: number; c: number }
    >();
    for (const { record: r, cost } of done) {
      const key = `${r.provider}\u0000${r.model}\u0000${r.agent}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { r, n: 0, priced: 0, cost: 0n, i: 0, o: 0, c: 0 }));
      g.n++;
      g.i += r.inputTokens;
      g.o += r.outputTokens;
      g.c += r.cachedInputTokens;
      if (cost !== null) {
        g.priced++;
        g.cost += cost;
      }
      m.ingestionLag.observe(Math.max(0, (now.getTime() - r.occurredAt.getTime()) / 1000));
    }
    for (const { r, n, priced, cost, i, o, c } of groups.values()) {
      const labels = { provider: r.provider, model: r.model, agent: r.agent };
      m.tokens.inc({ ...labels, kind: 'input' }, i);
      m.tokens.inc({ ...labels, kind: 'output' }, o);
      if (c) m.tokens.inc({ ...labels, kind: 'cached_input' }, c);
      // Prometheus samples are floats; the exact amounts are in the database.
      if (priced) {
        m.cost.inc(labels, Number(fromPico(cost, 0)));
        m.records.inc({ priced: 'true' }, priced);
      }
      if (n > priced) {
        m.unpriced.inc({ provider: r.provider, model: r.model }, n - priced);
        m.records.inc({ priced: 'false' }, n - priced);
      }
    }
    if (settled) m.reservationsClosed.inc({ status: 'settled' }, settled);
    for (const c of crossed) m.budgetEvents.inc({ kind: c.threshold === 'soft' ? 'soft_limit' : 'hard_limit' });
  }
}
