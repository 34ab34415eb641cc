import { Inject, Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { Page } from '../identity.types';
import { decodeCursor, encodeCursor, iso } from '../sql-values';

export interface AuditRow {
  id: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  outcome: string;
  details: Record<string, unknown>;
  ipAddress: string | null;
  userAgent: string | null;
  sourceService: string;
  createdAt: string;
}

export interface NewAuditRow {
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  outcome: string;
  details: Record<string, unknown>;
  ipAddress?: string;
  userAgent?: string;
  sourceService: string;
  sourceEventId?: string;
  createdAt?: string;
}

export interface AuditQuery {
  limit: number;
  cursor?: string;
  actor?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: string;
  sourceService?: string;
  since?: string;
  until?: string;
}

const COLUMNS = `id, seq, actor, action, resource_type, resource_id, outcome, details, ip_address, user_agent,
  source_service, created_at`;

function toRow(r: Record<string, unknown>): AuditRow {
  const details = typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details;
  return {
    id: String(r.id),
    actor: String(r.actor),
    action: String(r.action),
    resourceType: String(r.resource_type),
    resourceId: String(r.resource_id),
    outcome: String(r.outcome),
    details: (details as Record<string, unknown>) ?? {},
    ipAddress: (r.ip_address as string | null) ?? null,
    userAgent: (r.user_agent as string | null) ?? null,
    sourceService: String(r.source_service),
    createdAt: iso(r.created_at),
  };
}

@Injectable()
export class AuditLogRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>) {}

  /** Inserts a row; returns its id, or undefined when a row for the same source event exists already. */
  async insert(row: NewAuditRow, tx: SqlExecutor): Promise<{ id: string; createdAt: string } | undefined> {
    const rows = await tx.query<{ id: string; created_at: unknown }>(
      `INSERT INTO audit_logs (actor, action, resource_type, resource_id, outcome, details, ip_address, user_agent,
         source_service, source_event_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, COALESCE($11::timestamptz, now()))
       ON CONFLICT (source_event_id) DO NOTHING RETURNING id, created_at`,
      [
        row.actor,
        row.action,
        row.resourceType,
        row.resourceId,
        row.outcome,
        JSON.stringify(row.details),
        row.ipAddress ?? null,
        row.userAgent ?? null,
        row.sourceService,
        row.sourceEventId ?? null,
        row.createdAt ?? null,
      ],
    );
    return rows[0] ? { id: String(rows[0].id), createdAt: iso(rows[0].created_at) } : undefined;
  }

  async list(query: AuditQuery): Promise<Page<AuditRow>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (column: string, op: string, value: unknown) => {
      params.push(value);
      where.push(`${column} ${op} $${params.length}`);
    };
    if (query.actor) add('actor', '=', query.actor);
    if (query.action) add('action', '=', query.action);
    if (query.resourceType) add('resource_type', '=', query.resourceType);
    if (query.resourceId) add('resource_id', '=', query.resourceId);
    if (query.outcome) add('outcome', '=', query.outcome);
    if (query.sourceService) add('source_service', '=', query.sourceService);
    if (query.since) add('created_at', '>=', query.since);
    if (query.until) add('created_at', '<', query.until);
    const cursor = decodeCursor(query.cursor);
    if (cursor && cursor.length === 1 && /^\d+$/.test(String(cursor[0]))) add('seq', '<', String(cursor[0]));
    params.push(query.limit + 1);
    const rows = await this.ctx.db.query(
      `SELECT ${COLUMNS} FROM audit_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      data: page.map(toRow),
      nextCursor: rows.length > query.limit && last ? encodeCursor([String(last.seq)]) : null,
    };
  }
}
