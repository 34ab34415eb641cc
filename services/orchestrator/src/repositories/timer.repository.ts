import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { TimerKind, TimerRow } from './rows';
import { WriteBatch } from './write-batch';

export interface NewTimer {
  run_id: string;
  step_id: string;
  kind: TimerKind;
  attempt: number;
  due_at: Date;
}

/**
 * Durable timers. Only inserted (never updated) by the engine, so writing one never waits on a row the
 * poller holds; a timer that no longer matches the state when it fires is dropped.
 */
@Injectable()
export class TimerRepository {
  async insertMany(tx: SqlExecutor, timers: NewTimer[]): Promise<void> {
    const batch = new WriteBatch();
    this.insertManyInto(batch, timers);
    await batch.run(tx);
  }

  /** The same, as part of a batch of writes. */
  insertManyInto(batch: WriteBatch, timers: NewTimer[]): void {
    if (timers.length === 0) return;
    const p = (values: unknown[]) => batch.param(values);
    batch.add(
      `INSERT INTO timers (run_id, step_id, kind, attempt, due_at)
       SELECT r, s, k, a, d
       FROM unnest(${p(timers.map((t) => t.run_id))}::uuid[], ${p(timers.map((t) => t.step_id))}::text[],
                   ${p(timers.map((t) => t.kind))}::text[], ${p(timers.map((t) => t.attempt))}::int[],
                   ${p(timers.map((t) => t.due_at.toISOString()))}::timestamptz[]) AS x(r, s, k, a, d)`,
    );
  }

  /** Due timers no other replica is firing, claimed until the transaction ends. */
  async claimDue(tx: SqlExecutor, now: Date, limit: number): Promise<TimerRow[]> {
    return tx.query<TimerRow>(
      `SELECT * FROM timers WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
  }

  async delete(tx: SqlExecutor, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await tx.query(`DELETE FROM timers WHERE id = ANY($1::bigint[])`, [ids]);
  }

  async nextDue(db: SqlExecutor): Promise<Date | undefined> {
    const [row] = await db.query<{ due_at: Date | null }>(`SELECT min(due_at) AS due_at FROM timers`);
    return row?.due_at ? new Date(row.due_at) : undefined;
  }

  async postpone(db: SqlExecutor, id: string, dueAt: Date): Promise<void> {
    await db.query(`UPDATE timers SET due_at = $2 WHERE id = $1`, [id, dueAt]);
  }
}
