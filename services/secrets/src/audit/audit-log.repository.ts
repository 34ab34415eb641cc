import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Topics } from '@hishamos/contracts';
import type { SqlExecutor } from '@hishamos/persistence';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { JsonObject } from '@bufbuild/protobuf';
import { AuditWriteError } from '../domain/secret-errors';

export type AuditOutcome = 'success' | 'denied' | 'error';

/** One audited operation: never a value, only who did what to which path and version, and how it ended. */
export interface AuditEntry {
  caller: string;
  callerKind: 'service' | 'user' | 'system';
  path: string;
  version?: number;
  /** secret.read, secret.write, secret.rotate, secret.delete, ... */
  action: string;
  outcome: AuditOutcome;
  /** The error code for denied and error outcomes. */
  reason?: string;
  backend: string;
  details?: Record<string, string | number | boolean | string[]>;
}

export interface AuditRow {
  id: string;
  at: Date;
  caller: string;
  caller_kind: string;
  path: string;
  version: number | null;
  action: string;
  outcome: AuditOutcome;
  reason: string | null;
  backend: string;
  details: Record<string, unknown>;
}

/**
 * The audit log: a row in the secrets schema and an AuditRecorded event through the outbox, in the
 * caller's transaction. Any failure is an AuditWriteError, which fails the request.
 */
@Injectable()
export class AuditLogRepository {
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'outbox' | 'name'>) {}

  async record(tx: SqlExecutor, entry: AuditEntry): Promise<string> {
    const id = randomUUID();
    const details: JsonObject = {
      ...(entry.details ?? {}),
      ...(entry.version !== undefined ? { version: entry.version } : {}),
      ...(entry.reason ? { reason: entry.reason } : {}),
      backend: entry.backend,
      callerKind: entry.callerKind,
    };
    try {
      await tx.query(
        `INSERT INTO audit_log (id, caller, caller_kind, path, version, action, outcome, reason, backend, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
        [
          id,
          entry.caller,
          entry.callerKind,
          entry.path,
          entry.version ?? null,
          entry.action,
          entry.outcome,
          entry.reason ?? null,
          entry.backend,
          JSON.stringify(entry.details ?? {}),
        ],
      );
      await this.ctx.outbox.add(
        tx,
        Topics.AuditRecorded,
        {
          auditId: id,
          actor: entry.caller,
          action: entry.action,
          resourceType: 'secret',
          resourceId: entry.path,
          outcome: entry.outcome,
          details,
          sourceService: this.ctx.name,
        },
        { key: entry.path, id },
      );
    } catch {
      throw new AuditWriteError();
    }
    return id;
  }

  /** The most recent records first (tests and operators). */
  async recent(db: SqlExecutor, filter: { path?: string; caller?: string } = {}, limit = 100): Promise<AuditRow[]> {
    return db.query<AuditRow>(
      `SELECT * FROM audit_log WHERE ($1::text IS NULL OR path = $1) AND ($2::text IS NULL OR caller = $2)
       ORDER BY at DESC, id LIMIT $3`,
      [filter.path ?? null, filter.caller ?? null, limit],
    );
  }
}
