import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { SqlExecutor } from '@hishamos/persistence';

export interface AlertRow {
  id: string;
  rule_id: string | null;
  rule_name: string;
  entity: string;
  dedup_key: string;
  action: 'trigger' | 'resolve';
  severity: string;
  title: string;
  message: string;
  context: Record<string, unknown>;
  source: string;
  source_event_id: string | null;
  resolves_alert_id: string | null;
  resolved_at: Date | null;
  suppressed_before: number;
  created_at: Date;
}

export interface NewAlert {
  id: string;
  ruleId: string | null;
  ruleName: string;
  entity: string;
  dedupKey: string;
  action: 'trigger' | 'resolve';
  severity: string;
  title: string;
  message: string;
  context: Record<string, unknown>;
  source: string;
  sourceEventId?: string;
  resolvesAlertId?: string | null;
  suppressedBefore?: number;
}

export interface AlertFilter {
  ruleId?: string;
  ruleName?: string;
  entity?: string;
  action?: string;
  severity?: string;
  since?: Date;
  /** Keyset cursor: rows created before this (created_at, id). */
  before?: { at: Date; id: string };
  limit: number;
}

@Injectable()
export class AlertsRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  /** Records a notification; false when this rule already notified for this event (a redelivery). */
  async insert(tx: SqlExecutor, a: NewAlert): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO alerts (id, rule_id, rule_name, entity, dedup_key, action, severity, title, message, context, source,
         source_event_id, resolves_alert_id, suppressed_before)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)
       ON CONFLICT (rule_id, source_event_id, action) WHERE source_event_id IS NOT NULL DO NOTHING
       RETURNING id`,
      [
        a.id,
        a.ruleId,
        a.ruleName,
        a.entity,
        a.dedupKey,
        a.action,
        a.severity,
        a.title,
        a.message,
        JSON.stringify(a.context),
        a.source,
        a.sourceEventId ?? null,
        a.resolvesAlertId ?? null,
        a.suppressedBefore ?? 0,
      ],
    );
    return rows.length > 0;
  }

  async markResolved(tx: SqlExecutor, dedupKey: string): Promise<void> {
    await tx.query(
      `UPDATE alerts SET resolved_at = now() WHERE dedup_key = $1 AND action = 'trigger' AND resolved_at IS NULL`,
      [dedupKey],
    );
  }

  async get(id: string, ex: SqlExecutor = this.ctx.db): Promise<AlertRow | undefined> {
    const [row] = await ex.query<AlertRow>(`SELECT * FROM alerts WHERE id = $1`, [id]);
    return row;
  }

  async getMany(ids: string[], ex: SqlExecutor = this.ctx.db): Promise<AlertRow[]> {
    if (ids.length === 0) return [];
    return ex.query<AlertRow>(`SELECT * FROM alerts WHERE id = ANY($1::uuid[])`, [ids]);
  }

  list(f: AlertFilter, ex: SqlExecutor = this.ctx.db): Promise<AlertRow[]> {
    const where: string[] = [];
    const p: unknown[] = [];
    if (f.ruleId) where.push(`rule_id = $${p.push(f.ruleId)}`);
    if (f.ruleName) where.push(`rule_name = $${p.push(f.ruleName)}`);
    if (f.entity) where.push(`entity = $${p.push(f.entity)}`);
    if (f.action) where.push(`action = $${p.push(f.action)}`);
    if (f.severity) where.push(`severity = $${p.push(f.severity)}`);
    if (f.since) where.push(`created_at >= $${p.push(f.since)}`);
    if (f.before) where.push(`(created_at, id) < ($${p.push(f.before.at)}, $${p.push(f.before.id)}::uuid)`);
    return ex.query<AlertRow>(
      `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${p.push(f.limit)}`,
      p,
    );
  }
}
