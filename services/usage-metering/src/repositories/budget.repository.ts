import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { Period } from '../domain/periods';
import type { Scope } from './spend.repository';

export interface BudgetRow {
  id: string;
  scope: Scope;
  scope_id: string;
  period: Period;
  soft_usd: string | null;
  hard_usd: string | null;
  source: 'explicit' | 'plan';
  plan_id: string | null;
  updated_at: string;
  updated_by: string | null;
}

const COLUMNS = `id, scope, scope_id, period, soft_usd::text AS soft_usd, hard_usd::text AS hard_usd, source, plan_id,
  updated_at, updated_by`;

/** Budgets: explicit ones (set through the API) and the ones copied from a subscriber's plan. */
@Injectable()
export class BudgetRepository {
  /** Sets (creates or replaces) an explicit budget; it takes the place of a plan default for the same period. */
  async upsert(
    db: SqlExecutor,
    b: { scope: Scope; scopeId: string; period: Period; softUsd: string | null; hardUsd: string | null; by: string },
  ): Promise<BudgetRow> {
    const rows = await db.query<BudgetRow>(
      `INSERT INTO budgets AS b (scope, scope_id, period, soft_usd, hard_usd, source, updated_by)
       VALUES ($1, $2, $3, $4::numeric, $5::numeric, 'explicit', $6)
       ON CONFLICT (scope, scope_id, period) DO UPDATE
         SET soft_usd = excluded.soft_usd, hard_usd = excluded.hard_usd, source = 'explicit', plan_id = NULL,
             updated_at = now(), updated_by = excluded.updated_by
       RETURNING ${COLUMNS}`,
      [b.scope, b.scopeId, b.period, b.softUsd, b.hardUsd, b.by],
    );
    return rows[0];
  }

  async get(db: SqlExecutor, id: string): Promise<BudgetRow | undefined> {
    return (await db.query<BudgetRow>(`SELECT ${COLUMNS} FROM budgets WHERE id = $1::uuid`, [id]))[0];
  }

  async find(db: SqlExecutor, scope: Scope, scopeId: string, period: Period): Promise<BudgetRow | undefined> {
    return (
      await db.query<BudgetRow>(`SELECT ${COLUMNS} FROM budgets WHERE scope = $1 AND scope_id = $2 AND period = $3`, [
        scope,
        scopeId,
        period,
      ])
    )[0];
  }

  async delete(db: SqlExecutor, id: string): Promise<BudgetRow | undefined> {
    return (await db.query<BudgetRow>(`DELETE FROM budgets WHERE id = $1::uuid RETURNING ${COLUMNS}`, [id]))[0];
  }

  /**
   * Makes a user's plan budgets match their plan: the plan's default for each period where the user
   * has no explicit budget; none when `planId` is null (no active subscription). Returns the periods
   * of the plan budgets it set (their counters need a backfill).
   */
  async applyPlanDefaults(db: SqlExecutor, userId: string, planId: string | null): Promise<Period[]> {
    await db.query(
      `DELETE FROM budgets b
        WHERE b.scope = 'user' AND b.scope_id = $1 AND b.source = 'plan'
          AND ($2::text IS NULL OR b.plan_id IS DISTINCT FROM $2
               OR NOT EXISTS (SELECT 1 FROM plan_budgets pb WHERE pb.plan_id = $2 AND pb.period = b.period))`,
      [userId, planId],
    );
    if (planId === null) return [];
    const rows = await db.query<{ period: Period }>(
      `INSERT INTO budgets AS b (scope, scope_id, period, soft_usd, hard_usd, source, plan_id, updated_by)
       SELECT 'user', $1, pb.period, pb.soft_usd, pb.hard_usd, 'plan', pb.plan_id, 'plan:' || pb.plan_id
         FROM plan_budgets pb WHERE pb.plan_id = $2
       ON CONFLICT (scope, scope_id, period) DO UPDATE
         SET soft_usd = excluded.soft_usd, hard_usd = excluded.hard_usd, plan_id = excluded.plan_id,
             updated_at = now(), updated_by = excluded.updated_by
         WHERE b.source = 'plan'
       RETURNING b.period`,
      [userId, planId],
    );
    return rows.map((r) => r.period);
  }
}
