import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { ApiError, SERVICE_CONTEXT, traced, type ServiceContext } from '@hishamos/platform';
import { actorOf, type Caller } from '../access/caller';
import type { SecretAction } from '../access/secret-access.policy';
import { SecretAccessPolicy } from '../access/secret-access.policy';
import { SECRET_BACKEND, type SecretBackend } from '../backends/secret-backend';
import { AuditWriteError, PathForbiddenError } from '../domain/secret-errors';
import { SecretsMetrics } from '../secrets.metrics';
import { AuditLogRepository, type AuditEntry } from './audit-log.repository';

export interface OperationSpec {
  caller: Caller;
  action: SecretAction;
  /** The secret path (a folder for `list`, `keyring` for re-encryption). */
  path: string;
  version?: number;
  details?: AuditEntry['details'];
}

export interface OperationOutcome<T> {
  result: T;
  /** The version the operation read or wrote (recorded in the audit entry). */
  version?: number;
  details?: AuditEntry['details'];
  /** The operation turned out to be a no-op that needs no record (another replica did it). */
  skipAudit?: boolean;
}

/**
 * Every secret operation goes through here: the access decision (a denial is recorded and published,
 * then 403), then the operation and its audit record (row + AuditRecorded event) in ONE transaction,
 * so a failing audit write fails the request and nothing is answered or committed without its record.
 * A failed operation is recorded in a transaction of its own. Spans and metrics carry no values.
 */
@Injectable()
export class AuditedOperationService {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(SECRET_BACKEND) private readonly backend: SecretBackend,
    private readonly policy: SecretAccessPolicy,
    private readonly audit: AuditLogRepository,
    private readonly metrics: SecretsMetrics,
  ) {}

  run<T>(spec: OperationSpec, op: (tx: SqlExecutor) => Promise<OperationOutcome<T>>): Promise<T> {
    const actor = actorOf(spec.caller);
    const attributes = {
      'secret.path': spec.path,
      'secret.action': spec.action,
      'secret.backend': this.backend.id,
      'secret.caller': actor,
    };
    return traced(`secrets.${spec.action}`, attributes, async () => {
      await this.authorize(spec);
      try {
        const out = await transactionWithHooks(this.ctx.db, async (tx) => {
          const o = await op(tx);
          if (!o.skipAudit)
            await this.audit.record(tx, {
              ...this.base(spec),
              version: o.version ?? spec.version,
              outcome: 'success',
              details: { ...(spec.details ?? {}), ...(o.details ?? {}) },
            });
          return o;
        });
        this.count(spec.action, 'success');
        return out.result;
      } catch (e) {
        this.count(spec.action, 'error');
        if (e instanceof AuditWriteError) throw e;
        const code = e instanceof ApiError ? e.code : 'internal_error';
        await this.recordAlone(spec, 'error', code);
        throw e;
      }
    });
  }

  /** The access decision alone: a denial is recorded and published, then thrown as 403 forbidden_path. */
  async authorize(spec: OperationSpec): Promise<void> {
    const decision = this.policy.decide(spec.caller, spec.action, spec.path);
    if (decision.allowed) return;
    await this.recordAlone(spec, 'denied', 'forbidden_path', { why: decision.reason });
    this.count(spec.action, 'denied');
    throw new PathForbiddenError(decision.reason);
  }

  private base(spec: OperationSpec): Omit<AuditEntry, 'outcome'> {
    return {
      caller: actorOf(spec.caller),
      callerKind: spec.caller.kind,
      path: spec.path,
      version: spec.version,
      action: `secret.${spec.action}`,
      backend: this.backend.id,
      details: spec.details,
    };
  }

  private async recordAlone(
    spec: OperationSpec,
    outcome: 'denied' | 'error',
    reason: string,
    details?: AuditEntry['details'],
  ): Promise<void> {
    await transactionWithHooks(this.ctx.db, (tx) =>
      this.audit.record(tx, {
        ...this.base(spec),
        outcome,
        reason,
        details: { ...(spec.details ?? {}), ...(details ?? {}) },
      }),
    ).catch(() => {
      throw new AuditWriteError();
    });
  }

  private count(action: string, outcome: string): void {
    this.metrics.operations.inc({ action, outcome, backend: this.backend.id });
  }
}
