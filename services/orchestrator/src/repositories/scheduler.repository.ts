import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { RunRow, StepRow } from './rows';

export type DispatchableStep = StepRow & {
  team_id: string | null;
  task_id: string | null;
  workflow_id: string;
  workflow_name: string;
  workflow_version: number;
  run_status: RunRow['status'];
  traceparent: string | null;
  tracestate: string | null;
};

/**
 * The scheduler's queries. Every pass holds one transaction-scoped advisory lock, so replicas take
 * turns and a limit read in a pass cannot be raced by another replica's pass.
 */
@Injectable()
export class SchedulerRepository {
  async lockScheduler(tx: SqlExecutor): Promise<void> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('orchestrator:scheduler'))`);
  }

  async hasQueuedWork(db: SqlExecutor): Promise<boolean> {
    const [row] = await db.query<{ q: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM runs WHERE status = 'queued')
           OR EXISTS (SELECT 1 FROM steps WHERE status = 'queued') AS q`,
    );
    return row?.q === true;
  }

  /**
   * Starts the queued runs that may start now, in one statement: as many as MAX_CONCURRENT_WORKFLOWS leaves
   * free, in fair order (a user's k-th queued run ranks as their running runs + k, so one user's flood
   * interleaves with everyone else's work instead of going first; then priority, then age). They are locked
   * (rows another transaction holds, e.g. a cancellation, are skipped), marked running with their deadline,
   * and returned.
   *
   * A run holds its slot while it is running, and after it failed or was cancelled for as long as an attempt
   * it abandoned still holds an agent slot (that execution may still be running at the gateway).
   *
   * `started_at` is stamped with the database clock while this statement runs, that is after the snapshot that
   * counted the free slots (taken under the scheduler lock): every run whose end made room committed before
   * it, and its finished_at (stamped inside that transaction) is earlier. So the runs' [started_at,
   * finished_at) intervals never overlap more than the limit, whichever replica stamped them.
   */
  async admitRuns(tx: SqlExecutor, maxRunning: number, maxPerPass: number): Promise<RunRow[]> {
    return tx.query<RunRow>(
      `WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now),
            running AS (SELECT ((SELECT count(*) FROM runs WHERE status = 'running')
                              + (SELECT count(DISTINCT a.run_id) FROM attempts a JOIN runs r ON r.id = a.run_id
                                 WHERE a.holds_slot AND r.status <> 'running'
                                   AND (a.slot_release_at IS NULL OR a.slot_release_at > (SELECT now FROM t))))::int AS n),
            free AS (SELECT least($2::int, greatest(0, $1::int - n)) AS n FROM running),
            active AS (SELECT user_id, count(*)::int AS n FROM runs WHERE status = 'running' GROUP BY user_id),
            q AS (SELECT id, user_id, priority, seq,
                         row_number() OVER (PARTITION BY user_id ORDER BY priority DESC, seq) AS rn
                  FROM runs WHERE status = 'queued'),
            fair AS (SELECT q.id FROM q LEFT JOIN active a ON a.user_id = q.user_id
                     WHERE q.rn <= (SELECT n FROM free)
                     ORDER BY coalesce(a.n, 0) + q.rn, q.priority DESC, q.seq
                     LIMIT (SELECT n FROM free)),
            chosen AS (SELECT id FROM runs WHERE status = 'queued' AND id IN (SELECT id FROM fair) FOR UPDATE SKIP LOCKED)
       UPDATE runs r SET status = 'running', started_at = t.now,
                         deadline_at = t.now + make_interval(secs => coalesce(r.timeout_seconds, 7200))
       FROM chosen c, t WHERE r.id = c.id
       RETURNING r.*`,
      [maxRunning, maxPerPass],
    );
  }

  /**
   * Starts the next attempt of as many queued steps as their agents have free slots (limit minus attempts
   * holding a slot), in fair order across users within each agent, in one statement: the chosen rows are
   * locked (SKIP LOCKED), marked running with attempt + 1, and returned with what the request needs.
   *
   * Like admitRuns, the slots are counted as of this statement's snapshot and `started_at` (which the
   * attempts take as their requested_at) is the database clock while it runs, after that snapshot; an
   * abandoned attempt's lease counts as ended when it ended before that same instant.
   */
  async claimDispatchable(
    tx: SqlExecutor,
    limits: ReadonlyMap<string, number>,
    defaultLimit: number,
    maxPerPass: number,
  ): Promise<DispatchableStep[]> {
    return tx.query<DispatchableStep>(
      `WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now),
            limits AS (SELECT * FROM unnest($1::text[], $2::int[]) AS l(agent, lim)),
            in_use AS (SELECT agent, count(*)::int AS n FROM attempts
                       WHERE holds_slot AND (slot_release_at IS NULL OR slot_release_at > (SELECT now FROM t)) GROUP BY agent),
            cap AS (SELECT q.agent, coalesce(l.lim, $3::int) - coalesce(u.n, 0) AS free
                    FROM (SELECT DISTINCT agent FROM steps WHERE status = 'queued') q
                    LEFT JOIN limits l ON l.agent = q.agent LEFT JOIN in_use u ON u.agent = q.agent),
            active AS (SELECT user_id, count(*)::int AS n FROM attempts
                       WHERE holds_slot AND (slot_release_at IS NULL OR slot_release_at > (SELECT now FROM t)) GROUP BY user_id),
            q AS (SELECT s.run_id, s.step_id, s.agent, s.user_id, s.priority, s.queued_at,
                         row_number() OVER (PARTITION BY s.agent, s.user_id
                                            ORDER BY s.priority DESC, s.queued_at, s.run_id, s.step_id) AS rn
                  FROM steps s JOIN cap ON cap.agent = s.agent AND cap.free > 0
                  WHERE s.status = 'queued'),
            ranked AS (SELECT q.run_id, q.step_id, q.agent,
                              row_number() OVER (PARTITION BY q.agent
                                                 ORDER BY coalesce(a.n, 0) + q.rn, q.priority DESC, q.queued_at,
                                                          q.run_id, q.step_id) AS place
                       FROM q LEFT JOIN active a ON a.user_id = q.user_id),
            chosen AS (SELECT s.run_id, s.step_id FROM steps s
                       JOIN ranked r ON r.run_id = s.run_id AND r.step_id = s.step_id
                       JOIN cap ON cap.agent = r.agent
                       WHERE r.place <= cap.free AND s.status = 'queued'
                       LIMIT $4
                       FOR UPDATE OF s SKIP LOCKED)
       UPDATE steps s SET status = 'running', attempt = s.attempt + 1, started_at = t.now, next_attempt_at = NULL,
                          detail = NULL
       FROM chosen c, runs r, t
       WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND r.id = s.run_id
       RETURNING s.*, r.team_id, r.task_id, r.workflow_id, r.workflow_name, r.workflow_version, r.status AS run_status,
                 r.traceparent, r.tracestate`,
      [[...limits.keys()], [...limits.values()], defaultLimit, maxPerPass],
    );
  }
}
