import { Inject, Injectable } from '@nestjs/common';
import { Topics, type Envelope } from '@hishamos/contracts';
import { transactionWithHooks, type Outbox } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { AuditEntry, AuditLogPort } from '../../ports/gateway-ports';
import { AuditLogRepository } from './audit-log.repository';

/** Detail keys whose values never enter the audit log or its events, whoever passes them. */
const SECRET_DETAIL = /^(password|newPassword|currentPassword|secret|token|apiKey|api_key|key|value|authorization)$/i;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[TRUNCATED]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_DETAIL.test(k) ? '[REDACTED]' : scrub(v, depth + 1);
    return out;
  }
  return value;
}

/** JSON-safe, secret-free details (dates as strings, undefined dropped). */
export function auditDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
  return scrub(JSON.parse(JSON.stringify(details ?? {})) as Record<string, unknown>) as Record<string, unknown>;
}

/**
 * The AUDIT_LOG port: one row per change, written in the caller's transaction together with an
 * AuditRecorded event in the outbox (so the row and the event commit or roll back together).
 */
@Injectable()
export class AuditLogService implements AuditLogPort {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db' | 'outbox' | 'name'>,
    private readonly repository: AuditLogRepository,
  ) {}

  async record(entry: AuditEntry, tx?: SqlExecutor): Promise<void> {
    if (!tx) return transactionWithHooks(this.ctx.db, (own) => this.write(entry, own));
    return this.write(entry, tx);
  }

  private async write(entry: AuditEntry, tx: SqlExecutor, outbox: Outbox = this.ctx.outbox): Promise<void> {
    const details = auditDetails(entry.details);
    const row = await this.repository.insert(
      {
        actor: entry.actor,
        action: entry.action,
        resourceType: entry.resourceType,
        resourceId: entry.resourceId,
        outcome: entry.outcome,
        details,
        ipAddress: entry.ipAddress,
        userAgent: entry.userAgent,
        sourceService: this.ctx.name,
      },
      tx,
    );
    if (!row) return;
    await outbox.add(
      tx,
      Topics.AuditRecorded,
      {
        auditId: row.id,
        actor: entry.actor,
        action: entry.action,
        resourceType: entry.resourceType,
        resourceId: entry.resourceId,
        outcome: entry.outcome,
        ipAddress: entry.ipAddress ?? '',
        userAgent: entry.userAgent ?? '',
        details: details as never,
        sourceService: this.ctx.name,
      },
      { key: `${entry.resourceType}:${entry.resourceId}` },
    );
  }

  /**
   * Stores another service's AuditRecorded event (e.g. the secrets service's reads and rotations) in
   * this audit log, once per event. The gateway's own events are skipped (their rows exist already).
   */
  async importEvent(event: Envelope<typeof Topics.AuditRecorded>, tx: SqlExecutor): Promise<boolean> {
    const p = event.payload;
    if (p.sourceService === this.ctx.name || event.attributes.source === `hishamos/${this.ctx.name}`) return false;
    const row = await this.repository.insert(
      {
        actor: p.actor || 'unknown',
        action: p.action || 'unknown',
        resourceType: p.resourceType || 'unknown',
        resourceId: p.resourceId || '',
        outcome: ['success', 'denied', 'failure', 'error'].includes(p.outcome) ? p.outcome : 'error',
        details: auditDetails((p.details ?? {}) as Record<string, unknown>),
        ipAddress: p.ipAddress || undefined,
        userAgent: p.userAgent || undefined,
        sourceService: p.sourceService || event.attributes.source.replace(/^hishamos\//, '') || 'unknown',
        sourceEventId: `${event.attributes.source}:${event.attributes.id}`,
        createdAt: event.attributes.time || undefined,
      },
      tx,
    );
    return row !== undefined;
  }
}
