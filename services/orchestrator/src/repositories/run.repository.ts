import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import {
  jsonParam,
  RUN_JSON_COLUMNS as RUN_JSON,
  setClause,
  STEP_JSON_COLUMNS as STEP_JSON,
  type RunRow,
  type RunStatus,
  type StepRow,
} from './rows';
import { WriteBatch } from './write-batch';

export interface NewRun {
  id: string;
  kind: RunRow['kind'];
  workflow_id: string;
  workflow_version: number;
  workflow_name: string;
  definition: object | null;
  user_id: string;
  team_id: string | null;
  task_id: string | null;
  priority: number;
  inputs: Record<string, unknown>;
  source: string;
  source_id: string;
  timeout_seconds: number;
  created_at: Date;
  traceparent: string | null;
  tracestate: string | null;
}

export interface NewStep {
  step_id: string;
  position: number;
  kind: StepRow['kind'];
  agent: string | null;
  command: string | null;
  max_attempts: number;
  attempt_timeout_seconds: number;
}

/** How a run ends (RunRepository.finish). */
export interface RunEnd {
  id: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  outputs?: Record<string, unknown>;
  error?: string;
  error_step?: string | null;
  cancelled_by?: string;
}

export interface RunFilter {
  userId?: string;
  status?: RunStatus;
  workflowId?: string;
  /** Runs older than this sequence number (the cursor of the previous page). */
  beforeSeq?: string;
  limit: number;
}

/** Runs and their steps. */
@Injectable()
export class RunRepository {
  /**
   * Inserts a run, its steps and its first event (`queued`, with `queuedData`) in one statement; returns
   * undefined (and writes nothing) when (source, source_id) exists already.
   */
  async insert(
    tx: SqlExecutor,
    run: NewRun,
    steps: NewStep[],
    queuedData: Record<string, unknown>,
  ): Promise<RunRow | undefined> {
    const [inserted] = await tx.query<RunRow>(
      `WITH r AS (
         INSERT INTO runs (id, kind, workflow_id, workflow_version, workflow_name, definition, user_id, team_id, task_id,
           priority, status, inputs, source, source_id, timeout_seconds, created_at, traceparent, tracestate)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, 'queued', $11::jsonb, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (source, source_id) DO NOTHING RETURNING *),
       s AS (
         INSERT INTO steps (run_id, step_id, position, kind, agent, command, user_id, priority, status, max_attempts,
           attempt_timeout_seconds)
         SELECT r.id, x.s, x.p, x.k, x.a, x.c, r.user_id, r.priority, 'pending', x.m, x.t
         FROM r, unnest($18::text[], $19::int[], $20::text[], $21::text[], $22::text[], $23::int[], $24::int[])
           AS x(s, p, k, a, c, m, t)),
       e AS (
         INSERT INTO run_events (run_id, kind, data, at) SELECT r.id, 'queued', $25::jsonb, r.created_at FROM r)
       SELECT * FROM r`,
      [
        run.id,
        run.kind,
        run.workflow_id,
        run.workflow_version,
        run.workflow_name,
        jsonParam(run.definition),
        run.user_id,
        run.team_id,
        run.task_id,
        run.priority,
        jsonParam(run.inputs),
        run.source,
        run.source_id,
        run.timeout_seconds,
        run.created_at,
        run.traceparent,
        run.tracestate,
        steps.map((x) => x.step_id),
        steps.map((x) => x.position),
        steps.map((x) => x.kind),
        steps.map((x) => x.agent),
        steps.map((x) => x.command),
        steps.map((x) => x.max_attempts),
        steps.map((x) => x.attempt_timeout_seconds),
        JSON.stringify(queuedData),
      ],
    );
    return inserted;
  }

  async bySource(db: SqlExecutor, source: string, sourceId: string): Promise<RunRow | undefined> {
    const [row] = await db.query<RunRow>(`SELECT * FROM runs WHERE source = $1 AND source_id = $2`, [source, sourceId]);
    return row;
  }

  async get(db: SqlExecutor, id: string): Promise<RunRow | undefined> {
    const [row] = await db.query<RunRow>(`SELECT * FROM runs WHERE id = $1`, [id]);
    return row;
  }

  /** Locks the run an execution attempt belongs to (by its idempotency key); undefined when the key is unknown. */
  async lockByAttempt(tx: SqlExecutor, idempotencyKey: string): Promise<RunRow | undefined> {
    const [row] = await tx.query<RunRow>(
      `SELECT * FROM runs WHERE id = (SELECT run_id FROM attempts WHERE idempotency_key = $1) FOR UPDATE`,
      [idempotencyKey],
    );
    return row;
  }

  /**
   * Locks the runs the execution attempts belong to (by their idempotency keys), in id order like every batch
   * that locks several runs (so two batches cannot deadlock), and returns them.
   */
  async lockByAttempts(tx: SqlExecutor, idempotencyKeys: string[]): Promise<RunRow[]> {
    if (idempotencyKeys.length === 0) return [];
    return tx.query<RunRow>(
      `SELECT * FROM runs WHERE id IN (SELECT run_id FROM attempts WHERE idempotency_key = ANY($1::text[]))
       ORDER BY id FOR UPDATE`,
      [idempotencyKeys],
    );
  }

  /** Locks the run row: every change to a run and its steps holds this lock (order: run, steps, attempts, timers). */
  async lock(tx: SqlExecutor, id: string): Promise<RunRow | undefined> {
    const [row] = await tx.query<RunRow>(`SELECT * FROM runs WHERE id = $1 FOR UPDATE`, [id]);
    return row;
  }

  async update(tx: SqlExecutor, id: string, patch: Partial<RunRow>): Promise<void> {
    const { sql, params } = setClause(patch as Record<string, unknown>, RUN_JSON, 2);
    if (!sql) return;
    await tx.query(`UPDATE runs SET ${sql} WHERE id = $1`, [id, ...params]);
  }

  /**
   * Ends a run and drops its timers: finished_at is stamped by the database clock inside this transaction, so
   * it is never later than the commit that frees the run's slot (see SchedulerRepository).
   */
  async finish(tx: SqlExecutor, end: RunEnd): Promise<void> {
    const batch = new WriteBatch();
    this.finishManyInto(batch, [end]);
    await batch.run(tx);
  }

  /** The same for several runs, as part of a batch of writes (their timers skip any a poller is firing now). */
  finishManyInto(batch: WriteBatch, ends: RunEnd[]): void {
    if (ends.length === 0) return;
    const ids = batch.param(ends.map((e) => e.id));
    batch.add(
      `UPDATE runs r SET status = x.status, finished_at = t.now, outputs = coalesce(x.outputs, r.outputs),
                         error = coalesce(x.error, r.error), error_step = coalesce(x.error_step, r.error_step),
                         cancelled_by = coalesce(x.cancelled_by, r.cancelled_by)
       FROM jsonb_to_recordset(${batch.param(JSON.stringify(ends))}::jsonb)
              AS x(id uuid, status text, outputs jsonb, error text, error_step text, cancelled_by text),
            (SELECT clock_timestamp() AS now) t
       WHERE r.id = x.id`,
    );
    batch.add(
      `DELETE FROM timers WHERE id IN (SELECT id FROM timers WHERE run_id = ANY(${ids}::uuid[]) FOR UPDATE SKIP LOCKED)`,
    );
  }

  async steps(db: SqlExecutor, runId: string): Promise<StepRow[]> {
    return db.query<StepRow>(`SELECT * FROM steps WHERE run_id = $1 ORDER BY position`, [runId]);
  }

  async stepsOf(db: SqlExecutor, runIds: string[]): Promise<StepRow[]> {
    if (runIds.length === 0) return [];
    return db.query<StepRow>(`SELECT * FROM steps WHERE run_id = ANY($1::uuid[]) ORDER BY run_id, position`, [runIds]);
  }

  async updateStep(tx: SqlExecutor, runId: string, stepId: string, patch: Partial<StepRow>): Promise<void> {
    const { sql, params } = setClause(patch as Record<string, unknown>, STEP_JSON, 3);
    if (!sql) return;
    await tx.query(`UPDATE steps SET ${sql} WHERE run_id = $1 AND step_id = $2`, [runId, stepId, ...params]);
  }

  /** Steps whose dependencies are done wait for an agent slot: queued with their resolved inputs (if still pending). */
  async markQueued(
    tx: SqlExecutor,
    steps: { run_id: string; step_id: string; inputs: Record<string, unknown> }[],
    at: Date,
  ): Promise<void> {
    const batch = new WriteBatch();
    this.markQueuedInto(batch, steps, at);
    await batch.run(tx);
  }

  /** The same, as part of a batch of writes. */
  markQueuedInto(
    batch: WriteBatch,
    steps: { run_id: string; step_id: string; inputs: Record<string, unknown> }[],
    at: Date,
  ): void {
    if (steps.length === 0) return;
    const p = (value: unknown) => batch.param(value);
    batch.add(
      `UPDATE steps s SET status = 'queued', inputs = x.i::jsonb, queued_at = ${p(at)}::timestamptz
       FROM unnest(${p(steps.map((s) => s.run_id))}::uuid[], ${p(steps.map((s) => s.step_id))}::text[],
                   ${p(steps.map((s) => JSON.stringify(s.inputs)))}::text[]) AS x(r, st, i)
       WHERE s.run_id = x.r AND s.step_id = x.st AND s.status = 'pending'`,
    );
  }

  /** Ends every unfinished step of a run; returns the ones that were running (their attempts are abandoned). */
  async cancelOpenSteps(tx: SqlExecutor, runId: string, at: Date, detail: string): Promise<StepRow[]> {
    return tx.query<StepRow>(
      `UPDATE steps SET status = 'cancelled', finished_at = $2, detail = $3
       WHERE run_id = $1 AND status NOT IN ('succeeded', 'failed', 'skipped', 'cancelled')
       RETURNING *`,
      [runId, at, detail],
    );
  }

  async list(db: SqlExecutor, filter: RunFilter): Promise<RunRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.userId) add('user_id = ?', filter.userId);
    if (filter.status) add('status = ?', filter.status);
    if (filter.workflowId) add('workflow_id = ?', filter.workflowId);
    if (filter.beforeSeq) add('seq < ?::bigint', filter.beforeSeq);
    params.push(filter.limit);
    return db.query<RunRow>(
      `SELECT id, seq, kind, workflow_id, workflow_version, workflow_name, user_id, team_id, task_id, priority, status,
              error, error_step, source, created_at, started_at, finished_at, deadline_at, cancelled_by
       FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
  }

  async countByStatus(db: SqlExecutor): Promise<Record<string, number>> {
    const rows = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM runs WHERE status IN ('queued', 'running') GROUP BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async countQueuedSteps(db: SqlExecutor): Promise<number> {
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM steps WHERE status = 'queued'`);
    return row?.n ?? 0;
  }
}
