import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { RunEventRow } from './rows';
import { WriteBatch } from './write-batch';

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
    const batch = new WriteBatch();
    this.insertManyInto(batch, events);
    await batch.run(tx);
  }

  /** The same, as part of a batch of writes (in order: their sequence numbers follow the list). */
  insertManyInto(batch: WriteBatch, events: NewRunEvent[]): void {
    if (events.length === 0) return;
    const p = (values: unknown[]) => batch.param(values);
    batch.add(
      `INSERT INTO run_events (run_id, kind, step_id, attempt, detail, data, at)
       SELECT r, k, s, a, d, j::jsonb, t
       FROM unnest(${p(events.map((e) => e.run_id))}::uuid[], ${p(events.map((e) => e.kind))}::text[],
                   ${p(events.map((e) => e.step_id))}::text[], ${p(events.map((e) => e.attempt))}::int[],
                   ${p(events.map((e) => e.detail))}::text[],
                   ${p(events.map((e) => (e.data ? JSON.stringify(e.data) : null)))}::text[],
                   ${p(events.map((e) => e.at.toISOString()))}::timestamptz[])
         WITH ORDINALITY AS x(r, k, s, a, d, j, t, n)
       ORDER BY n`,
    );
  }

  async after(db: SqlExecutor, runId: string, afterSeq: string, limit = 500): Promise<RunEventRow[]> {
    return db.query<RunEventRow>(
      `SELECT * FROM run_events WHERE run_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3`,
      [runId, afterSeq, limit],
    );
  }
}
