import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';

export interface FeedbackRow {
  id: string;
  execution_id: string;
  user_id: string;
  rating: number;
  text: string;
  issues: string[];
  source: string;
  created_at: string;
  updated_at: string;
}

/** The seed's task_feedback: one rating per user per execution. */
@Injectable()
export class FeedbackRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  /** Inserts or updates the user's rating of the execution; returns the row and whether it was new. */
  async upsert(
    tx: SqlExecutor,
    f: { executionId: string; userId: string; rating: number; text: string; issues: string[]; source: string },
  ): Promise<{ row: FeedbackRow; created: boolean }> {
    const rows = await tx.query<FeedbackRow & { inserted: boolean }>(
      `INSERT INTO feedback (id, execution_id, user_id, rating, text, issues, source)
       VALUES ($1,$2,$3,$4,$5,$6,$7)
       ON CONFLICT (execution_id, user_id) DO UPDATE
         SET rating = EXCLUDED.rating, text = EXCLUDED.text, issues = EXCLUDED.issues, updated_at = now()
       RETURNING *, (xmax = 0) AS inserted`,
      [randomUUID(), f.executionId, f.userId, f.rating, f.text, JSON.stringify(f.issues), f.source],
    );
    const { inserted, ...row } = rows[0];
    return { row, created: inserted };
  }

  async forExecution(executionId: string): Promise<FeedbackRow[]> {
    return this.ctx.db.query<FeedbackRow>(`SELECT * FROM feedback WHERE execution_id = $1 ORDER BY created_at`, [
      executionId,
    ]);
  }

  /** Ratings in the window joined with the stored features of the execution they rate. */
  async trainingSet(windowDays: number): Promise<{ features: Record<string, number>; rating: number }[]> {
    const rows = await this.ctx.db.query<{ features: Record<string, number>; rating: number }>(
      `SELECT q.features, f.rating FROM feedback f JOIN quality_scores q ON q.execution_id = f.execution_id
        WHERE f.updated_at >= now() - make_interval(days => $1) ORDER BY f.id`,
      [windowDays],
    );
    return rows;
  }

  async countInWindow(windowDays: number): Promise<number> {
    const rows = await this.ctx.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM feedback WHERE updated_at >= now() - make_interval(days => $1)`,
      [windowDays],
    );
    return Number(rows[0].n);
  }
}
