import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { setClause, STEP_JSON_COLUMNS, type AttemptRow, type AttemptStatus, type StepRow } from './rows';
import { WriteBatch } from './write-batch';

export interface NewAttempt {
  idempotency_key: string;
  execution_id: string;
  run_id: string;
  step_id: string;
  attempt: number;
  agent: string;
  user_id: string;
  /** The deadline its execution request carries. */
  deadline_at: Date;
}

/**
 * Execution requests sent to the gateway, and the agent slots they hold. An attempt holds its slot from
 * requested_at (the scheduler's stamp) until slot_released_at; both come from the database clock and are
 * stamped in the transactions that take and free the slot, so they mean what the limit counts.
 */
@Injectable()
export class AttemptRepository {
  /** `at`: when the scheduler claimed them (SchedulerRepository.claimDispatchable's stamp). */
  async insertMany(tx: SqlExecutor, attempts: NewAttempt[], at: Date): Promise<void> {
    const batch = new WriteBatch();
    this.insertManyInto(batch, attempts, at);
    await batch.run(tx);
  }

  /** The same, as part of a batch of writes. */
  insertManyInto(batch: WriteBatch, attempts: NewAttempt[], at: Date): void {
    if (attempts.length === 0) return;
    const p = (values: unknown) => batch.param(values);
    batch.add(
      `INSERT INTO attempts (idempotency_key, execution_id, run_id, step_id, attempt, agent, user_id, status, requested_at,
         deadline_at)
       SELECT k, e, r, s, n, a, u, 'running', ${p(at)}::timestamptz, d
       FROM unnest(${p(attempts.map((a) => a.idempotency_key))}::text[], ${p(attempts.map((a) => a.execution_id))}::text[],
                   ${p(attempts.map((a) => a.run_id))}::uuid[], ${p(attempts.map((a) => a.step_id))}::text[],
                   ${p(attempts.map((a) => a.attempt))}::int[], ${p(attempts.map((a) => a.agent))}::text[],
                   ${p(attempts.map((a) => a.user_id))}::text[],
                   ${p(attempts.map((a) => a.deadline_at.toISOString()))}::timestamptz[])
         AS x(k, e, r, s, n, a, u, d)`,
    );
  }

  async byKey(db: SqlExecutor, key: string): Promise<AttemptRow | undefined> {
    const [row] = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE idempotency_key = $1`, [key]);
    return row;
  }

  async byKeys(db: SqlExecutor, keys: string[]): Promise<AttemptRow[]> {
    if (keys.length === 0) return [];
    return db.query<AttemptRow>(`SELECT * FROM attempts WHERE idempotency_key = ANY($1::text[])`, [keys]);
  }

  /** Lock after the run's lock (lock order: run, steps, attempts). */
  async lockByKey(tx: SqlExecutor, key: string): Promise<AttemptRow | undefined> {
    const [row] = await tx.query<AttemptRow>(`SELECT * FROM attempts WHERE idempotency_key = $1 FOR UPDATE`, [key]);
    return row;
  }

  async ofRun(db: SqlExecutor, runId: string): Promise<AttemptRow[]> {
    return db.query<AttemptRow>(`SELECT * FROM attempts WHERE run_id = $1 ORDER BY requested_at, step_id, attempt`, [
      runId,
    ]);
  }

  /**
   * The result arrived: the attempt ends and frees its slot (stamped inside this transaction, before its
   * commit); its step takes `step.patch` in the same statement when given.
   */
  async complete(
    tx: SqlExecutor,
    key: string,
    status: AttemptStatus,
    error?: { code: string; message: string },
    step?: { runId: string; stepId: string; patch: Partial<StepRow> },
  ): Promise<void> {
    const set = step ? setClause(step.patch as Record<string, unknown>, STEP_JSON_COLUMNS, 7) : undefined;
    const stepUpdate = set?.sql ? `, s AS (UPDATE steps SET ${set.sql} WHERE run_id = $5 AND step_id = $6)` : '';
    await tx.query(
      `WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now)${stepUpdate}
       UPDATE attempts SET status = $2, completed_at = t.now, holds_slot = false, slot_released_at = t.now,
                           error_code = $3, error_message = $4
       FROM t
       WHERE idempotency_key = $1`,
      [
        key,
        status,
        error?.code ?? null,
        error?.message ?? null,
        ...(stepUpdate ? [step!.runId, step!.stepId, ...set!.params] : []),
      ],
    );
  }

  /**
   * A late result of an attempt that was already given up: only its slot is freed. If its lease had already
   * ended, the scheduler counted the slot free from then on, so that is when it was released.
   */
  async releaseSlot(tx: SqlExecutor, key: string): Promise<void> {
    await tx.query(
      `UPDATE attempts SET holds_slot = false, completed_at = coalesce(completed_at, t.now),
                           slot_released_at = least(t.now, slot_release_at)
       FROM (SELECT clock_timestamp() AS now) t
       WHERE idempotency_key = $1 AND holds_slot`,
      [key],
    );
  }

  /**
   * Gives up the running attempts of a run (or one step of it): timed out or cancelled. They may still be
   * running at the gateway, so they keep their slot until their result arrives, or else until their lease
   * ends: `graceSeconds` after their deadline (the gateway starts nothing after it) or after now, whichever is
   * later.
   */
  async abandon(
    tx: SqlExecutor,
    runId: string,
    stepId: string | undefined,
    status: 'timed_out' | 'abandoned',
    graceSeconds: number,
  ): Promise<string[]> {
    const rows = await tx.query<{ step_id: string }>(
      `UPDATE attempts SET status = $3,
              slot_release_at = greatest(t.now, coalesce(deadline_at, t.now)) + make_interval(secs => $4::int)
       FROM (SELECT clock_timestamp() AS now) t
       WHERE run_id = $1 AND ($2::text IS NULL OR step_id = $2) AND status = 'running'
       RETURNING step_id`,
      [runId, stepId ?? null, status, graceSeconds],
    );
    return rows.map((r) => r.step_id);
  }

  /** Slots in use per agent. */
  async slotsInUse(db: SqlExecutor): Promise<Map<string, number>> {
    const rows = await db.query<{ agent: string; n: number }>(
      `SELECT agent, count(*)::int AS n FROM attempts
       WHERE holds_slot AND (slot_release_at IS NULL OR slot_release_at > clock_timestamp()) GROUP BY agent`,
    );
    return new Map(rows.map((r) => [r.agent, r.n]));
  }

  /** Abandoned attempts whose lease has ended stop holding their slot (released when the lease ended). */
  async releaseExpired(tx: SqlExecutor): Promise<void> {
    await tx.query(
      `UPDATE attempts SET holds_slot = false, slot_released_at = slot_release_at
       WHERE holds_slot AND slot_release_at <= clock_timestamp()`,
    );
  }
}
