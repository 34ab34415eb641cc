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
import { toUsageRecord } from '../../domain/usage-record';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import { ReservationRepository, type Settlement } from '../../repositories/reservation.repository';
import {
  SpendRepository,
  type CounterDelta,
  type CrossedThreshold,
  type DaySpend,
  type Scope,
} from '../../repositories/spend.repository';
import { UsageRepository, type UsageRow } from '../../repositories/usage.repository';
import { encodeUsagePricedMany, type UsagePricedFields } from './usage-priced.encoding';

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

/** An inserted record's cost in pico-dollars (null: unpriced) and, when unpriced, whether the model has later prices. */
interface InsertedCost {
  cost: bigint | null;
  priceLater: boolean;
}

/**
 * The UsagePriced events of a batch's inserted records, in batch order (`records`, the partition's
 * offset order; records not in `costs` were seen before and get none). Each carries the user's and
 * the platform's spend of the record's day after it: the counter values after the batch (`daySpend`)
 * minus the cost of the later records of the batch on the same counter, in exact pico-dollars.
 */
export function usagePricedEvents(
  records: readonly UsageRow[],
  costs: ReadonlyMap<string, InsertedCost>,
  daySpend: readonly DaySpend[],
): { payload: UsagePricedFields; opts: { key: string; id: string } }[] {
  const running = new Map<string, bigint>();
  for (const d of daySpend) running.set(`${d.scope}\u0000${d.scope_id}\u0000${d.day}`, toPico(d.spent_usd));
  const take = (key: string, cost: bigint): bigint => {
    const after = running.get(key);
    if (after === undefined) throw new Error(`no day spend returned for counter ${JSON.stringify(key)}`);
    running.set(key, after - cost);
    return after;
  };
  const out: { payload: UsagePricedFields; opts: { key: string; id: string } }[] = [];
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    const c = costs.get(r.requestId);
    if (!c) continue;
    const cost = c.cost ?? 0n;
    const userSpend = take(`user\u0000${r.userId}\u0000${r.usageDay}`, cost);
    const globalSpend = take(`global\u0000\u0000${r.usageDay}`, cost);
    const ms = r.occurredAt.getTime();
    out.push({
      payload: {
        requestId: r.requestId,
        userId: r.userId,
        teamId: r.teamId,
        agent: r.agent,
        command: r.command,
        provider: r.provider,
        model: r.model,
        usage: { inputTokens: r.inputTokens, outputTokens: r.outputTokens, cachedInputTokens: r.cachedInputTokens },
        occurredAt: { seconds: Math.floor(ms / 1000), nanos: (((ms % 1000) + 1000) % 1000) * 1_000_000 },
        costUsd: c.cost === null ? '0' : fromPico(c.cost),
        priced: c.cost !== null,
        unpricedReason:
          c.cost !== null
            ? ''
            : c.priceLater
              ? `no price for ${r.provider}/${r.model} was in effect at ${r.occurredAt.toISOString()}`
              : `unknown model: no price for ${r.provider}/${r.model}`,
        usageDay: r.usageDay,
        userSpendDayUsd: fromPico(userSpend),
        globalSpendDayUsd: fromPico(globalSpend),
        runId: r.runId,
      },
      opts: { key: r.userId, id: `usage-priced:${r.requestId}` },
    });
  }
  return out.reverse();
}

/**
 * Records usage exactly once per request id: api_usage rows priced in NUMERIC at the price in effect
 * at each record's time, daily aggregates, spend counters for the record's own day (and week/month
 * where budgeted; a late record lands in its period), settlement of the reservation it carries, and the first soft or
 * hard crossing of each budget in a period as a BudgetThresholdCrossed event, and one UsagePriced
 * event per inserted record (its cost, and its user's and the platform's day spend after it), all in
 * the consumer's transaction (with the processed-event ids), so a crash before commit loses and
 * duplicates nothing, and a redelivered record publishes nothing new.
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
    const calendar = this.config.calendar;
    for (const event of command.events) {
      const record = toUsageRecord(event, now) as UsageRow;
      if (rows.has(record.requestId)) continue; // the same request twice in one batch counts once
      record.usageDay = calendar.dateOf(record.occurredAt);
      rows.set(record.requestId, record);
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
    // The record's own day (a late record lands in its day); the statement carries day spend on to the
    // week and month counters of scopes with such budgets.
    const add = (scope: Scope, scopeId: string, day: string, cost: bigint | null) => {
      const c = counter(scope, scopeId, 'day', day);
      c.delta.requests++;
      if (cost !== null) c.spent += cost;
    };
    const settlements: Settlement[] = [];
    const costs = new Map<string, InsertedCost>();
    for (const ins of inserted) {
      const r = rows.get(ins.request_id)!;
      const cost = ins.cost === null ? null : toPico(ins.cost);
      costs.set(ins.request_id, { cost, priceLater: ins.price_later });
      add('user', r.userId, r.usageDay, cost);
      add('global', '', r.usageDay, cost);
      if (r.teamId) add('team', r.teamId, r.usageDay, cost);
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
    const { crossed, daySpend } = await this.spend.applyDeltas(tx, deltas);
    if (crossed.length) {
      const events = crossed.map((c) => budgetEvent(c, this.config.timeZone));
      await outbox.addMany(
        tx,
        Topics.BudgetThresholdCrossed,
        events.map((e) => e.payload),
        events.map((e) => e.opts),
      );
    }
    const priced = usagePricedEvents([...rows.values()], costs, daySpend);
    const values = encodeUsagePricedMany(priced.map((e) => e.payload));
    await outbox.addManyEncoded(
      tx,
      Topics.UsagePriced,
      priced.map((e, i) => ({ id: e.opts.id, key: e.opts.key, value: values[i] })),
    );

    const observe = () => this.observe(rows, costs, settled, crossed, now);
    const hooks = commitHooksOf(tx);
    if (hooks) hooks.onCommit(observe);
    else observe();
    return { received: command.events.length, inserted: inserted.length, settled, budgetEvents: crossed.length };
  }

  private observe(
    rows: ReadonlyMap<string, UsageRow>,
    costs: ReadonlyMap<string, InsertedCost>,
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
    for (const [requestId, { cost }] of costs) {
      const r = rows.get(requestId)!;
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
