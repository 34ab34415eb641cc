import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { Period } from '../domain/periods';

export interface PlanBudget {
  period: Period;
  softUsd: string | null;
  hardUsd: string | null;
}

export interface Plan {
  id: string;
  name: string;
  description: string;
  budgets: PlanBudget[];
}

export interface SubscriptionRow {
  id: string;
  user_id: string;
  plan_id: string;
  status: 'active' | 'trialing' | 'past_due' | 'canceled';
  current_period_start: string | null;
  current_period_end: string | null;
  updated_at: string;
}

const SUB_COLUMNS = `id, user_id, plan_id, status, current_period_start, current_period_end, updated_at`;

/** Plans (with default budgets) and the seed's subscriptions. */
@Injectable()
export class PlanRepository {
  async list(db: SqlExecutor, id?: string): Promise<Plan[]> {
    const rows = await db.query<{ id: string; name: string; description: string; budgets: PlanBudget[] | null }>(
      `SELECT p.id, p.name, p.description,
              (SELECT json_agg(json_build_object('period', pb.period, 'softUsd', pb.soft_usd::text, 'hardUsd', pb.hard_usd::text)
                        ORDER BY CASE pb.period WHEN 'day' THEN 0 WHEN 'week' THEN 1 ELSE 2 END)
                 FROM plan_budgets pb WHERE pb.plan_id = p.id) AS budgets
         FROM plans p WHERE $1::text IS NULL OR p.id = $1 ORDER BY p.id`,
      [id ?? null],
    );
    return rows.map((r) => ({ ...r, budgets: r.budgets ?? [] }));
  }

  /** Creates or replaces a plan and its default budgets. */
  async upsert(db: SqlExecutor, plan: Plan): Promise<void> {
    await db.query(
      `INSERT INTO plans (id, name, description) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, updated_at = now()`,
      [plan.id, plan.name, plan.description],
    );
    await db.query(`DELETE FROM plan_budgets WHERE plan_id = $1`, [plan.id]);
    if (plan.budgets.length === 0) return;
    await db.query(
      `INSERT INTO plan_budgets (plan_id, period, soft_usd, hard_usd)
       SELECT $1, * FROM unnest($2::text[], $3::numeric[], $4::numeric[])`,
      [
        plan.id,
        plan.budgets.map((b) => b.period),
        plan.budgets.map((b) => b.softUsd),
        plan.budgets.map((b) => b.hardUsd),
      ],
    );
  }

  /** Users whose subscription to the plan is in force (active or trialing). */
  async subscribers(db: SqlExecutor, planId: string): Promise<string[]> {
    const rows = await db.query<{ user_id: string }>(
      `SELECT user_id FROM subscriptions WHERE plan_id = $1 AND status IN ('active', 'trialing')`,
      [planId],
    );
    return rows.map((r) => r.user_id);
  }

  async getSubscription(db: SqlExecutor, userId: string): Promise<SubscriptionRow | undefined> {
    return (
      await db.query<SubscriptionRow>(`SELECT ${SUB_COLUMNS} FROM subscriptions WHERE user_id = $1`, [userId])
    )[0];
  }

  async listSubscriptions(
    db: SqlExecutor,
    filter: { planId?: string; status?: string; limit: number },
  ): Promise<SubscriptionRow[]> {
    return db.query<SubscriptionRow>(
      `SELECT ${SUB_COLUMNS} FROM subscriptions
        WHERE ($1::text IS NULL OR plan_id = $1) AND ($2::text IS NULL OR status = $2)
        ORDER BY user_id LIMIT $3`,
      [filter.planId ?? null, filter.status ?? null, filter.limit],
    );
  }

  async upsertSubscription(
    db: SqlExecutor,
    s: { userId: string; planId: string; status: string; periodStart: string | null; periodEnd: string | null },
  ): Promise<SubscriptionRow> {
    const rows = await db.query<SubscriptionRow>(
      `INSERT INTO subscriptions (user_id, plan_id, status, current_period_start, current_period_end)
       VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz)
       ON CONFLICT (user_id) DO UPDATE
         SET plan_id = excluded.plan_id, status = excluded.status, current_period_start = excluded.current_period_start,
             current_period_end = excluded.current_period_end, updated_at = now()
       RETURNING ${SUB_COLUMNS}`,
      [s.userId, s.planId, s.status, s.periodStart, s.periodEnd],
    );
    return rows[0];
  }
}
