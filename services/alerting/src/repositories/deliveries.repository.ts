import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';

export type DeliveryStatus = 'pending' | 'sending' | 'retrying' | 'succeeded' | 'failed' | 'skipped';

export interface DeliveryRow {
  id: string;
  alert_id: string;
  channel_name: string;
  channel_type: string;
  action: 'trigger' | 'resolve';
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  last_status_code: number | null;
  next_attempt_at: Date;
  lease_until: Date | null;
  created_at: Date;
  updated_at: Date;
  delivered_at: Date | null;
}

export interface DeliveryAttemptRow {
  id: string;
  delivery_id: string;
  attempt: number;
  outcome: 'succeeded' | 'retry' | 'failed';
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: Date;
}

export interface NewDelivery {
  id: string;
  channelName: string;
  channelType: string;
  /** pending (to send) or skipped (channel missing or disabled, with the reason). */
  status: 'pending' | 'skipped';
  error?: string;
}

export interface DeliveryFilter {
  status?: string;
  channel?: string;
  alertId?: string;
  before?: { at: Date; id: string };
  limit: number;
}

@Injectable()
export class DeliveriesRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async insertMany(tx: SqlExecutor, alertId: string, action: string, rows: NewDelivery[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO deliveries (id, alert_id, channel_name, channel_type, action, status, last_error)
       SELECT i, $1, n, t, $2, s, e FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(i, n, t, s, e)`,
      [
        alertId,
        action,
        rows.map((r) => r.id),
        rows.map((r) => r.channelName),
        rows.map((r) => r.channelType),
        rows.map((r) => r.status),
        rows.map((r) => r.error ?? null),
      ],
    );
  }

  /**
   * Claims up to `limit` deliveries that are due (or whose sender's lease ran out), for one attempt each:
   * status sending, attempts + 1, leased for `leaseMs`. Replicas skip each other's claims.
   */
  claimDue(limit: number, leaseMs: number, ex: SqlExecutor = this.ctx.db): Promise<DeliveryRow[]> {
    return ex.query<DeliveryRow>(
      `UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1,
         lease_until = now() + $2 * interval '1 millisecond', updated_at = now()
       WHERE d.id IN (
         SELECT id FROM deliveries
         WHERE (status IN ('pending', 'retrying') AND next_attempt_at <= now())
            OR (status = 'sending' AND lease_until < now())
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING d.*`,
      [limit, leaseMs],
    );
  }

  /** When the next delivery falls due (for the worker's sleep), if any is waiting. */
  async nextDueAt(ex: SqlExecutor = this.ctx.db): Promise<Date | undefined> {
    const [row] = await ex.query<{ at: Date | null }>(
      `SELECT min(CASE WHEN status = 'sending' THEN lease_until ELSE next_attempt_at END) AS at
       FROM deliveries WHERE status IN ('pending', 'retrying', 'sending')`,
    );
    return row?.at ?? undefined;
  }

  /** Records one attempt and the delivery's new status, in one transaction. */
  async recordAttempt(
    tx: SqlExecutor,
    d: { id: string; attempt: number },
    r: {
      outcome: 'succeeded' | 'retry' | 'failed';
      statusCode?: number;
      error?: string;
      durationMs: number;
      retryInMs?: number;
    },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt, outcome, status_code, error, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [d.id, d.attempt, r.outcome, r.statusCode ?? null, r.error ?? null, Math.round(r.durationMs)],
    );
    const status: DeliveryStatus =
      r.outcome === 'succeeded' ? 'succeeded' : r.outcome === 'retry' ? 'retrying' : 'failed';
    await tx.query(
      `UPDATE deliveries SET status = $2, last_error = $3, last_status_code = $4, lease_until = NULL, updated_at = now(),
         next_attempt_at = now() + $5 * interval '1 millisecond',
         delivered_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE delivered_at END
       WHERE id = $1`,
      [d.id, status, r.outcome === 'succeeded' ? null : (r.error ?? null), r.statusCode ?? null, r.retryInMs ?? 0],
    );
  }

  async get(id: string, ex: SqlExecutor = this.ctx.db): Promise<DeliveryRow | undefined> {
    const [row] = await ex.query<DeliveryRow>(`SELECT * FROM deliveries WHERE id = $1`, [id]);
    return row;
  }

  attempts(deliveryIds: string[], ex: SqlExecutor = this.ctx.db): Promise<DeliveryAttemptRow[]> {
    if (deliveryIds.length === 0) return Promise.resolve([]);
    return ex.query<DeliveryAttemptRow>(
      `SELECT id::text AS id, delivery_id, attempt, outcome, status_code, error, duration_ms, attempted_at
       FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt, id`,
      [deliveryIds],
    );
  }

  forAlert(alertId: string, ex: SqlExecutor = this.ctx.db): Promise<DeliveryRow[]> {
    return ex.query<DeliveryRow>(`SELECT * FROM deliveries WHERE alert_id = $1 ORDER BY channel_name`, [alertId]);
  }

  list(f: DeliveryFilter, ex: SqlExecutor = this.ctx.db): Promise<DeliveryRow[]> {
    const where: string[] = [];
    const p: unknown[] = [];
    if (f.status) where.push(`status = $${p.push(f.status)}`);
    if (f.channel) where.push(`channel_name = $${p.push(f.channel)}`);
    if (f.alertId) where.push(`alert_id = $${p.push(f.alertId)}::uuid`);
    if (f.before) where.push(`(created_at, id) < ($${p.push(f.before.at)}, $${p.push(f.before.id)}::uuid)`);
    return ex.query<DeliveryRow>(
      `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${p.push(f.limit)}`,
      p,
    );
  }
}
