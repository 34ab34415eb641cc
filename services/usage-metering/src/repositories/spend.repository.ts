import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { Period, PeriodStarts } from '../domain/periods';

export type Scope = 'user' | 'team' | 'global';

/** A change to one spend counter (scope, scope id, period, period start). Amounts are decimal strings. */
export interface CounterDelta {
  scope: Scope;
  scopeId: string;
  period: Period;
  periodStart: string;
  spent: string;
  reserved: string;
  requests: number;
}

export interface CrossedThreshold {
  scope: Scope;
  scope_id: string;
  period: Period;
  period_start: string;
  threshold: 'soft' | 'hard';
  budget_id: string;
  spent_usd: string;
  limit_usd: string;
}

/** A user's or the platform's day spend after a batch's deltas were applied (its counter's new value). */
export interface DaySpend {
  scope: Scope;
  scope_id: string;
  day: string;
  spent_usd: string;
}

export interface AppliedDeltas {
  /** Thresholds reached for the first time in their period (to publish in the same transaction). */
  crossed: CrossedThreshold[];
  /** The new day spend of every user and global counter the deltas touched. */
  daySpend: DaySpend[];
}

export interface BudgetStanding {
  budget_id: string;
  scope: Scope;
  scope_id: string;
  period: Period;
  period_start: string;
  soft_usd: string | null;
  hard_usd: string | null;
  source: 'explicit' | 'plan';
  spent_usd: string;
  reserved_usd: string;
}

export interface CounterStanding {
  period: Period;
  period_start: string;
  spent_usd: string;
  reserved_usd: string;
  requests: string;
}

const START_OF = `CASE b.period WHEN 'day' THEN $1::date WHEN 'week' THEN $2::date ELSE $3::date END`;

/** spend_counters and budget_events: what was spent and reserved per scope and period, and the crossings. */
@Injectable()
export class SpendRepository {
  /**
   * Taken (shared) by every ingestion transaction before it touches the counters; a budget change
   * takes it exclusively (`lockForBudgetChange`), so a new week/month budget's counter can be filled
   * from the day counters without missing a transaction in flight.
   */
  async lockForIngestion(tx: SqlExecutor): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock_shared(hashtext('usage-metering:spend-counters'))`);
  }

  async lockForBudgetChange(tx: SqlExecutor): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('usage-metering:spend-counters'))`);
  }

  /**
   * Applies the deltas in one statement, locking counters in canonical order (the order
   * reserve_budget locks them in). `deltas` carry day spend (kept for every user, team and the
   * platform) and reservation releases (any period); the statement adds the day spend to the week and
   * month counters of the scopes that have such a budget (others are sums of day counters).
   * Then records each soft or hard threshold the new spend reached for the first time in its
   * period, and returns those crossings (to publish in the same transaction) with the new day spend of
   * the user and global counters it touched.
   */
  async applyDeltas(tx: SqlExecutor, deltas: CounterDelta[]): Promise<AppliedDeltas> {
    if (deltas.length === 0) return { crossed: [], daySpend: [] };
    const json = JSON.stringify(
      deltas.map((d) => ({
        scope: d.scope,
        scope_id: d.scopeId,
        period: d.period,
        period_start: d.periodStart,
        spent: d.spent,
        reserved: d.reserved,
        requests: d.requests,
      })),
    );
    const rows = await tx.query<CrossedThreshold & { kind: 'crossed' | 'spend' }>(
      `WITH d AS (
         SELECT * FROM json_to_recordset($1::json)
           AS d (scope text, scope_id text, period text, period_start date, spent numeric, reserved numeric, requests bigint)
       ),
       wide AS (
         SELECT d.scope, d.scope_id, b.period,
                (CASE b.period WHEN 'week' THEN date_trunc('week', d.period_start::timestamp)
                               ELSE date_trunc('month', d.period_start::timestamp) END)::date AS period_start,
                d.spent, 0::numeric AS reserved, d.requests
           FROM d
           JOIN budgets b ON b.scope = d.scope AND b.scope_id = d.scope_id AND b.period IN ('week', 'month')
          WHERE d.period = 'day'
       ),
       total AS (
         SELECT x.scope, x.scope_id, x.period, x.period_start, sum(x.spent) AS spent, sum(x.reserved) AS reserved,
                sum(x.requests) AS requests
           FROM (SELECT * FROM d UNION ALL SELECT * FROM wide) x
          GROUP BY x.scope, x.scope_id, x.period, x.period_start
       ),
       up AS (
         INSERT INTO spend_counters AS c (scope, scope_id, period, period_start, spent_usd, reserved_usd, requests)
         SELECT t.scope, t.scope_id, t.period, t.period_start, t.spent, t.reserved, t.requests
           FROM total t
          ORDER BY t.scope, t.scope_id, t.period, t.period_start
         ON CONFLICT (scope, scope_id, period, period_start) DO UPDATE
           SET spent_usd = c.spent_usd + excluded.spent_usd,
               reserved_usd = c.reserved_usd + excluded.reserved_usd,
               requests = c.requests + excluded.requests
         RETURNING c.scope, c.scope_id, c.period, c.period_start, c.spent_usd
       ),
       crossed AS (
         INSERT INTO budget_events (scope, scope_id, period, period_start, threshold, budget_id, spent_usd, limit_usd, reason)
         SELECT up.scope, up.scope_id, up.period, up.period_start, t.threshold, b.id, up.spent_usd, t.limit_usd, 'spend'
           FROM up
           JOIN budgets b ON b.scope = up.scope AND b.scope_id = up.scope_id AND b.period = up.period
           CROSS JOIN LATERAL (VALUES ('soft', b.soft_usd), ('hard', b.hard_usd)) AS t (threshold, limit_usd)
          WHERE t.limit_usd IS NOT NULL AND up.spent_usd >= t.limit_usd AND up.spent_usd > 0
          ORDER BY 1, 2, 3, 4, 5
         ON CONFLICT DO NOTHING
         RETURNING scope, scope_id, period, period_start, threshold, budget_id, spent_usd, limit_usd
       )
       SELECT 'crossed' AS kind, scope, scope_id, period, period_start::text AS period_start, threshold, budget_id,
              spent_usd::text AS spent_usd, limit_usd::text AS limit_usd
         FROM crossed
       UNION ALL
       SELECT 'spend', scope, scope_id, period, period_start::text, NULL, NULL, spent_usd::text, NULL
         FROM up
        WHERE period = 'day' AND scope IN ('user', 'global')`,
      [json],
    );
    const out: AppliedDeltas = { crossed: [], daySpend: [] };
    for (const { kind, ...r } of rows) {
      if (kind === 'crossed') out.crossed.push(r);
      else out.daySpend.push({ scope: r.scope, scope_id: r.scope_id, day: r.period_start, spent_usd: r.spent_usd });
    }
    return out;
  }

  /**
   * Sets the current week/month counters of budgets that were just created from the day counters
   * (spend before the budget existed counts). Call under `lockForBudgetChange`.
   */
  async backfill(
    tx: SqlExecutor,
    keys: { scope: Scope; scopeId: string; period: Period }[],
    starts: PeriodStarts,
  ): Promise<void> {
    const wide = keys.filter((k) => k.period !== 'day');
    if (wide.length === 0) return;
    await tx.query(
      `INSERT INTO spend_counters AS c (scope, scope_id, period, period_start, spent_usd, requests)
       SELECT k.scope, k.scope_id, k.period, k.start,
              coalesce((SELECT sum(d.spent_usd) FROM spend_counters d
                         WHERE d.scope = k.scope AND d.scope_id = k.scope_id AND d.period = 'day'
                           AND d.period_start >= k.start AND d.period_start < k.next), 0),
              coalesce((SELECT sum(d.requests) FROM spend_counters d
                         WHERE d.scope = k.scope AND d.scope_id = k.scope_id AND d.period = 'day'
                           AND d.period_start >= k.start AND d.period_start < k.next), 0)
         FROM (SELECT t.scope, t.scope_id, t.period,
                      CASE t.period WHEN 'week' THEN $4::date ELSE $5::date END AS start,
                      CASE t.period WHEN 'week' THEN $4::date + 7 ELSE ($5::date + interval '1 month')::date END AS next
                 FROM unnest($1::text[], $2::text[], $3::text[]) AS t (scope, scope_id, period)) k
        ORDER BY 1, 2, 3, 4
       ON CONFLICT (scope, scope_id, period, period_start) DO UPDATE
         SET spent_usd = excluded.spent_usd, requests = excluded.requests`,
      [wide.map((k) => k.scope), wide.map((k) => k.scopeId), wide.map((k) => k.period), starts.week, starts.month],
    );
  }

  /** Records a hard limit refusing a request (once per budget and period). True when this call recorded it. */
  async recordRefusal(
    db: SqlExecutor,
    e: Omit<CrossedThreshold, 'threshold' | 'spent_usd'> & { spent_usd: string },
  ): Promise<boolean> {
    const rows = await db.query(
      `INSERT INTO budget_events (scope, scope_id, period, period_start, threshold, budget_id, spent_usd, limit_usd, reason)
       VALUES ($1, $2, $3, $4::date, 'hard', $5, $6, $7, 'denied')
       ON CONFLICT DO NOTHING RETURNING 1`,
      [e.scope, e.scope_id, e.period, e.period_start, e.budget_id, e.spent_usd, e.limit_usd],
    );
    return rows.length > 0;
  }

  /** The budgets that apply to a user (their own, their team's, the global ones) with this period's spend. */
  async standings(db: SqlExecutor, userId: string, teamId: string, starts: PeriodStarts): Promise<BudgetStanding[]> {
    return db.query<BudgetStanding>(
      `SELECT b.id AS budget_id, b.scope, b.scope_id, b.period, (${START_OF})::text AS period_start,
              b.soft_usd::text AS soft_usd, b.hard_usd::text AS hard_usd, b.source,
              coalesce(c.spent_usd, 0)::text AS spent_usd, coalesce(c.reserved_usd, 0)::text AS reserved_usd
         FROM budgets b
         LEFT JOIN spend_counters c
           ON c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period AND c.period_start = ${START_OF}
        WHERE (b.scope = 'user' AND b.scope_id = $4) OR (b.scope = 'team' AND $5 <> '' AND b.scope_id = $5)
           OR b.scope = 'global'
        ORDER BY CASE b.scope WHEN 'user' THEN 0 WHEN 'team' THEN 1 ELSE 2 END,
                 CASE b.period WHEN 'day' THEN 0 WHEN 'week' THEN 1 ELSE 2 END`,
      [starts.day, starts.week, starts.month, userId, teamId],
    );
  }

  /**
   * One scope's spend in the current day, week and month (sums of its day counters, which exist for
   * everyone) and what is reserved against its budgets.
   */
  async counters(db: SqlExecutor, scope: Scope, scopeId: string, starts: PeriodStarts): Promise<CounterStanding[]> {
    return db.query<CounterStanding>(
      `SELECT p.period, p.start::text AS period_start,
              coalesce((SELECT sum(d.spent_usd) FROM spend_counters d
                         WHERE d.scope = $1 AND d.scope_id = $2 AND d.period = 'day'
                           AND d.period_start >= p.start AND d.period_start <= $3::date), 0)::text AS spent_usd,
              coalesce((SELECT sum(d.requests) FROM spend_counters d
                         WHERE d.scope = $1 AND d.scope_id = $2 AND d.period = 'day'
                           AND d.period_start >= p.start AND d.period_start <= $3::date), 0)::text AS requests,
              coalesce((SELECT c.reserved_usd FROM spend_counters c
                         WHERE c.scope = $1 AND c.scope_id = $2 AND c.period = p.period AND c.period_start = p.start), 0)::text
                AS reserved_usd
         FROM (VALUES ('day', $3::date), ('week', $4::date), ('month', $5::date)) AS p (period, start)`,
      [scope, scopeId, starts.day, starts.week, starts.month],
    );
  }

  /** Every budget with its current-period spend (budget listing). */
  async allStandings(
    db: SqlExecutor,
    starts: PeriodStarts,
    filter: { scope?: Scope; scopeId?: string; ids?: string[] },
  ): Promise<BudgetStanding[]> {
    return db.query<BudgetStanding>(
      `SELECT b.id AS budget_id, b.scope, b.scope_id, b.period, (${START_OF})::text AS period_start,
              b.soft_usd::text AS soft_usd, b.hard_usd::text AS hard_usd, b.source,
              coalesce(c.spent_usd, 0)::text AS spent_usd, coalesce(c.reserved_usd, 0)::text AS reserved_usd
         FROM budgets b
         LEFT JOIN spend_counters c
           ON c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period AND c.period_start = ${START_OF}
        WHERE ($4::text IS NULL OR b.scope = $4) AND ($5::text IS NULL OR b.scope_id = $5)
        ORDER BY CASE b.scope WHEN 'global' THEN 0 WHEN 'team' THEN 1 ELSE 2 END, b.scope_id,
                 CASE b.period WHEN 'day' THEN 0 WHEN 'week' THEN 1 ELSE 2 END`,
      [starts.day, starts.week, starts.month, filter.scope ?? null, filter.scopeId ?? null],
    );
  }

  /** For the utilisation gauge: the most used budget's spend over its limit per scope and period. */
  async utilization(db: SqlExecutor, starts: PeriodStarts): Promise<{ scope: Scope; period: Period; ratio: string }[]> {
    return db.query(
      `SELECT b.scope, b.period,
              max(coalesce(c.spent_usd, 0) / NULLIF(coalesce(b.hard_usd, b.soft_usd), 0))::text AS ratio
         FROM budgets b
         LEFT JOIN spend_counters c
           ON c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period AND c.period_start = ${START_OF}
        GROUP BY b.scope, b.period`,
      [starts.day, starts.week, starts.month],
    );
  }

  /** Creates this period's counters for the hard budgets that apply to a caller (in key order, own transaction). */
  async ensureCounters(db: SqlExecutor, userId: string, teamId: string, starts: PeriodStarts): Promise<void> {
    await db.query(
      `INSERT INTO spend_counters (scope, scope_id, period, period_start)
       SELECT b.scope, b.scope_id, b.period, ${START_OF}
         FROM budgets b
        WHERE b.hard_usd IS NOT NULL
          AND ((b.scope = 'user' AND b.scope_id = $4) OR (b.scope = 'team' AND $5 <> '' AND b.scope_id = $5)
            OR b.scope = 'global')
        ORDER BY 1, 2, 3, 4
       ON CONFLICT DO NOTHING`,
      [starts.day, starts.week, starts.month, userId, teamId],
    );
  }
}
