import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { PeriodStarts } from '../domain/periods';
import type { Scope } from './spend.repository';

/** One reservation request (the gateway's call). */
export interface ReserveRequest {
  requestId: string;
  userId: string;
  teamId: string;
  provider: string;
  model: string;
  agent: string;
  command: string;
  inputTokens: number;
  maxOutputTokens: number;
}

/** What every request of one batch shares: the time it is decided at and the periods of that time. */
export interface ReserveBatchParams {
  now: Date;
  ttlSeconds: number;
  starts: PeriodStarts;
  /** Wait for the WAL flush at commit (RESERVATION_SYNCHRONOUS_COMMIT). */
  synchronousCommit: boolean;
}

export interface ReserveResult {
  outcome: 'existing' | 'granted' | 'denied' | 'unpriced' | 'missing_counters';
  reservation_id: string | null;
  amount_usd: string | null;
  expires_at: string | null;
  budget_id: string | null;
  scope: Scope | null;
  scope_id: string | null;
  period: 'day' | 'week' | 'month' | null;
  period_start: string | null;
  limit_usd: string | null;
  spent_usd: string | null;
  reserved_usd: string | null;
}

export interface Settlement {
  reservationId: string;
  /** Actual cost (decimal string), null when unpriced. */
  cost: string | null;
}

export interface CounterRelease {
  scope: Scope;
  scope_id: string;
  period: 'day' | 'week' | 'month';
  period_start: string;
  amount: string;
}

export interface ReservationRow {
  id: string;
  request_id: string;
  user_id: string;
  team_id: string;
  provider: string;
  model: string;
  amount_usd: string;
  status: 'active' | 'settled' | 'released' | 'expired';
  kind: 'call' | 'lease';
  consumed_usd: string;
  created_at: string;
  expires_at: string;
  closed_at: string | null;
  actual_cost_usd: string | null;
}

/** One request (reserve_budget, migration 0002). */
const RESERVE_ONE_SQL = `SELECT 1 AS idx, outcome, reservation_id, amount_usd::text AS amount_usd, expires_at, budget_id,
       scope, scope_id, period, period_start::text AS period_start, limit_usd::text AS limit_usd,
       spent_usd::text AS spent_usd, reserved_usd::text AS reserved_usd
  FROM reserve_budget($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $11, $12::date, $13::date, $14::date, $15)`;

/** Several requests (reserve_budgets, migration 0004). */
const RESERVE_SQL = `SELECT idx, outcome, reservation_id, amount_usd::text AS amount_usd, expires_at, budget_id, scope, scope_id,
       period, period_start::text AS period_start, limit_usd::text AS limit_usd, spent_usd::text AS spent_usd,
       reserved_usd::text AS reserved_usd
  FROM reserve_budgets($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                       $9::bigint[], $10::timestamptz, $11, $12::date, $13::date, $14::date, $15)`;

export interface LeaseResult {
  outcome: 'existing' | 'granted' | 'denied' | 'missing_counters';
  reservation_id: string | null;
  amount_usd: string | null;
  expires_at: string | null;
  /** The smallest headroom among the hard budgets that apply (null: none applies, or an existing lease). */
  headroom_usd: string | null;
}

const LEASE_OUTCOMES = new Set<string>(['existing', 'granted', 'denied', 'missing_counters']);

const OUTCOMES = new Set<string>(['existing', 'granted', 'denied', 'unpriced', 'missing_counters']);

/** Reservations: the atomic grant (reserve_budget / reserve_budgets), settlement, release and expiry. */
@Injectable()
export class ReservationRepository {
  /**
   * Decides a batch of requests in one round trip and one transaction, in array order, with the
   * outcome one-at-a-time calls would have (reserve_budgets; reserve_budget for a single request, which
   * is cheaper for one): grant, deny, or say which counters are missing. Results are in the requests'
   * order. A request id at most once per batch.
   */
  async reserveMany(
    db: SqlExecutor,
    requests: readonly ReserveRequest[],
    p: ReserveBatchParams,
  ): Promise<ReserveResult[]> {
    if (requests.length === 0) return [];
    const common = [
      p.now.toISOString(),
      p.ttlSeconds,
      p.starts.day,
      p.starts.week,
      p.starts.month,
      p.synchronousCommit,
    ];
    const [one] = requests;
    const rows = await db.query<Omit<ReserveResult, 'expires_at'> & { idx: number; expires_at: Date | string | null }>(
      requests.length === 1 ? RESERVE_ONE_SQL : RESERVE_SQL,
      requests.length === 1
        ? [
            one.requestId,
            one.userId,
            one.teamId,
            one.provider,
            one.model,
            one.agent,
            one.command,
            one.inputTokens,
            one.maxOutputTokens,
            ...common,
          ]
        : [
            requests.map((r) => r.requestId),
            requests.map((r) => r.userId),
            requests.map((r) => r.teamId),
            requests.map((r) => r.provider),
            requests.map((r) => r.model),
            requests.map((r) => r.agent),
            requests.map((r) => r.command),
            requests.map((r) => r.inputTokens),
            requests.map((r) => r.maxOutputTokens),
            ...common,
          ],
    );
    const out = new Array<ReserveResult>(requests.length);
    for (const { idx, expires_at, ...r } of rows) {
      if (!OUTCOMES.has(r.outcome)) throw new Error(`reserve_budgets: unexpected outcome ${r.outcome}`);
      const expires = expires_at instanceof Date ? expires_at.toISOString() : expires_at;
      out[Number(idx) - 1] = { ...r, expires_at: expires ? new Date(expires).toISOString() : null };
    }
    for (let i = 0; i < out.length; i++)
      if (!out[i]) throw new Error(`reserve_budgets: no result for request ${i + 1}`);
    return out;
  }

  /**
   * Settles what these usage records carry (their reservation_id), exactly once per record (the caller
   * passes only records it inserted): a call's active reservation is closed at its actual cost; an
   * active lease (many records) adds each record's cost to its consumed amount and holds that much less,
   * never below nothing. A reservation released or expired meanwhile is left alone. Returns how many
   * call reservations it closed and what to take off each counter they were held against.
   */
  async settle(
    tx: SqlExecutor,
    settlements: Settlement[],
    now: Date,
  ): Promise<{ settled: number; releases: CounterRelease[] }> {
    if (settlements.length === 0) return { settled: 0, releases: [] };
    const rows = await tx.query<{ settled: string; releases: CounterRelease[] | null }>(
      `WITH s AS (
         SELECT s.reservation_id, sum(s.cost) AS cost
           FROM unnest($1::uuid[], $2::numeric[]) AS s (reservation_id, cost)
          GROUP BY s.reservation_id
       ),
       settled AS (
         UPDATE reservations r SET status = 'settled', closed_at = $3::timestamptz, actual_cost_usd = s.cost
           FROM s
          WHERE r.status = 'active' AND r.kind = 'call' AND r.id = s.reservation_id
         RETURNING r.amount_usd AS released, r.counter_ids
       ),
       leased AS (
         UPDATE reservations r SET consumed_usd = r.consumed_usd + s.cost,
                                   actual_cost_usd = coalesce(r.actual_cost_usd, 0) + s.cost
           FROM s
          WHERE r.status = 'active' AND r.kind = 'lease' AND r.id = s.reservation_id AND s.cost > 0
         RETURNING least(s.cost, greatest(r.amount_usd - (r.consumed_usd - s.cost), 0)) AS released, r.counter_ids
       ),
       per_counter AS (
         SELECT c.scope, c.scope_id, c.period, c.period_start::text AS period_start, sum(x.released)::text AS amount
           FROM (SELECT * FROM settled UNION ALL SELECT * FROM leased) x
           CROSS JOIN LATERAL unnest(x.counter_ids) AS u (cid)
           JOIN spend_counters c ON c.id = u.cid
          WHERE x.released > 0
          GROUP BY c.scope, c.scope_id, c.period, c.period_start
       )
       SELECT (SELECT count(*) FROM settled)::text AS settled, (SELECT json_agg(per_counter) FROM per_counter) AS releases`,
      [settlements.map((s) => s.reservationId), settlements.map((s) => s.cost), now.toISOString()],
    );
    return { settled: Number(rows[0]?.settled ?? 0), releases: rows[0]?.releases ?? [] };
  }

  /**
   * Grants a budget lease (grant_lease, migration 0005): `want` USD, or less when the applicable hard
   * limits leave little (at most a share of each one's headroom); denied below `min`.
   */
  async grantLease(
    db: SqlExecutor,
    r: {
      requestId: string;
      userId: string;
      teamId: string;
      wantUsd: string;
      minUsd: string;
      /** 1/share of a team's or the platform's headroom at most; 1/userShare of the user's own. */
      share: number;
      userShare: number;
    },
    p: ReserveBatchParams,
  ): Promise<LeaseResult> {
    const rows = await db.query<Omit<LeaseResult, 'expires_at'> & { expires_at: Date | string | null }>(
      `SELECT outcome, reservation_id, amount_usd::text AS amount_usd, expires_at, headroom_usd::text AS headroom_usd
         FROM grant_lease($1, $2, $3, $4::numeric, $5::numeric, $6, $7, $8::timestamptz, $9, $10::date, $11::date, $12::date, $13)`,
      [
        r.requestId,
        r.userId,
        r.teamId,
        r.wantUsd,
        r.minUsd,
        r.share,
        r.userShare,
        p.now.toISOString(),
        p.ttlSeconds,
        p.starts.day,
        p.starts.week,
        p.starts.month,
        p.synchronousCommit,
      ],
    );
    const row = rows[0];
    if (!row || !LEASE_OUTCOMES.has(row.outcome)) throw new Error(`grant_lease: unexpected outcome ${row?.outcome}`);
    const expires = row.expires_at instanceof Date ? row.expires_at.toISOString() : row.expires_at;
    return { ...row, expires_at: expires ? new Date(expires).toISOString() : null };
  }

  /** Shrinks an active lease to what its calls used (close_lease, migration 0005); undefined: no such active lease. */
  async closeLease(
    db: SqlExecutor,
    id: string,
    usedUsd: string,
    synchronousCommit: boolean,
  ): Promise<{ amount_usd: string; consumed_usd: string; released_usd: string } | undefined> {
    const rows = await db.query<{ amount_usd: string; consumed_usd: string; released_usd: string }>(
      `SELECT amount_usd::text AS amount_usd, consumed_usd::text AS consumed_usd, released_usd::text AS released_usd
         FROM close_lease($1::uuid, $2::numeric, $3)`,
      [id, usedUsd, synchronousCommit],
    );
    return rows[0];
  }

  /** Closes active reservations (released or expired) and frees their amounts. Returns the ids closed. */
  async close(db: SqlExecutor, ids: string[], status: 'released' | 'expired', now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await db.query<{ id: string }>(`SELECT id FROM close_reservations($1::uuid[], $2, $3::timestamptz)`, [
      ids,
      status,
      now.toISOString(),
    ]);
    return rows.map((r) => r.id);
  }

  /** Active reservations past their expiry, oldest first. */
  async expiredIds(db: SqlExecutor, now: Date, limit: number): Promise<string[]> {
    const rows = await db.query<{ id: string }>(
      `SELECT id FROM reservations WHERE status = 'active' AND expires_at <= $1::timestamptz ORDER BY expires_at LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map((r) => r.id);
  }

  /** Deletes reservations closed before `before`. */
  async purgeClosed(db: SqlExecutor, before: Date): Promise<number> {
    const r = await db.run(
      `DELETE FROM reservations WHERE id IN (
         SELECT id FROM reservations WHERE status <> 'active' AND closed_at < $1::timestamptz LIMIT 5000)`,
      [before.toISOString()],
    );
    return r.rowCount;
  }

  async get(db: SqlExecutor, id: string): Promise<ReservationRow | undefined> {
    const rows = await db.query<ReservationRow>(
      `SELECT id, request_id, user_id, team_id, provider, model, amount_usd::text AS amount_usd, status,
              kind, consumed_usd::text AS consumed_usd, created_at, expires_at, closed_at, actual_cost_usd::text AS actual_cost_usd
         FROM reservations WHERE id = $1::uuid`,
      [id],
    );
    return rows[0];
  }
}
