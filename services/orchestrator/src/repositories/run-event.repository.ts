import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { RunEventRow } from './rows';

export interface NewRunEvent {
  run_id: string;
  kind: string;
  step_id: string | null;
  attempt: number | null;
  detail: string | null;
  data: Record<string, unknown> | null;
  at: Date;
}

/** A run's event history, replayed by GET /v1/runs/:id/events. */
@Injectable()
export class RunEventRepository {
  async insertMany(tx: SqlExecutor, events: NewRunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await tx.query(
      `INSERT INTO run_events (run_id, kind, step_id, attempt, detail, data, at)
       SELECT r, k, s, a, d, j::jsonb, t
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[])
         WITH ORDINALITY AS x(r, k, s, a, d, j, t, n)
       ORDER BY n`,
      [
        events.map((e) => e.run_id),
        events.map((e) => e.kind),
        events.map((e) => e.step_id),
        events.map((e) => e.attempt),
        events.map((e) => e.detail),
        events.map((e) => (e.data ? JSON.stringify(e.data) : null)),
        events.map((e) => e.at.toISOString()),
      ],
    );
  }

  async after(db: SqlExecutor, runId: string, afterSeq: string, limit = 500): Promise<RunEventRow[]> {
    return db.query<RunEventRow>(
      `SELECT * FROM run_events WHERE run_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`,
      [runId, afterSeq, limit],
    );
  }
}
