import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { AttemptRow, AttemptStatus } from './rows';

export interface NewAttempt {
  idempotency_key: string;
  execution_id: string;
  run_id: string;
  step_id: string;
  attempt: number;
  agent: string;
  user_id: string;
}

/** Execution requests sent to the gateway, and the agent slots they hold. */
@Injectable()
export class AttemptRepository {
  async insertMany(tx: SqlExecutor, attempts: NewAttempt[], at: Date): Promise<void> {
    if (attempts.length === 0) return;
    await tx.query(
      `INSERT INTO attempts (idempotency_key, execution_id, run_id, step_id, attempt, agent, user_id, status, requested_at)
       SELECT k, e, r, s, n, a, u, 'running', $8
       FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[]) AS x(k, e, r, s, n, a, u)`,
      [
        attempts.map((a) => a.idempotency_key),
        attempts.map((a) => a.execution_id),
        attempts.map((a) => a.run_id),
        attempts.map((a) => a.step_id),
        attempts.map((a) => a.attempt),
        attempts.map((a) => a.agent),
        attempts.map((a) => a.user_id),
        at,
      ],
    );
  }

  async byKey(db: SqlExecutor, key: string): Promise<AttemptRow | undefined> {
    const [row] = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE idempotency_key = $1`, [key]);
    return row;
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

  /** The result arrived: the attempt ends and frees its slot. */
  async complete(
    tx: SqlExecutor,
    key: string,
    status: AttemptStatus,
    at: Date,
    error?: { code: string; message: string },
  ): Promise<void> {
    await tx.query(
      `UPDATE attempts SET status = $2, completed_at = $3, holds_slot = false, error_code = $4, error_message = $5
       WHERE idempotency_key = $1`,
      [key, status, at, error?.code ?? null, error?.message ?? null],
    );
  }

  /** A late result of an attempt that was already given up: only its slot is freed. */
  async releaseSlot(tx: SqlExecutor, key: string, at: Date): Promise<void> {
    await tx.query(
      `UPDATE attempts SET holds_slot = false, completed_at = coalesce(completed_at, $2) WHERE idempotency_key = $1`,
      [key, at],
    );
  }

  /**
   * Gives up the running attempts of a run (or one step of it): timed out or cancelled. They may still be
   * running at the gateway, so they keep their slot until their result arrives or until `releaseAt`.
   */
  async abandon(
    tx: SqlExecutor,
    runId: string,
    stepId: string | undefined,
    status: 'timed_out' | 'abandoned',
    releaseAt: Date,
  ): Promise<string[]> {
    const rows = await tx.query<{ step_id: string }>(
      `UPDATE attempts SET status = $3, slot_release_at = $4
       WHERE run_id = $1 AND ($2::text IS NULL OR step_id = $2) AND status = 'running'
       RETURNING step_id`,
      [runId, stepId ?? null, status, releaseAt],
    );
    return rows.map((r) => r.step_id);
  }

  /** Slots in use per agent. */
  async slotsInUse(db: SqlExecutor, now: Date): Promise<Map<string, number>> {
    const rows = await db.query<{ agent: string; n: number }>(
      `SELECT agent, count(*)::int AS n FROM attempts
       WHERE holds_slot AND (slot_release_at IS NULL OR slot_release_at > $1) GROUP BY agent`,
      [now],
    );
    return new Map(rows.map((r) => [r.agent, r.n]));
  }

  /** Abandoned attempts whose grace period is over stop holding their slot. */
  async releaseExpired(tx: SqlExecutor, now: Date): Promise<void> {
    await tx.query(`UPDATE attempts SET holds_slot = false WHERE holds_slot AND slot_release_at <= $1`, [now]);
  }
}
