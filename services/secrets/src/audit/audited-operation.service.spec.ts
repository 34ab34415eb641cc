import type { SqlExecutor } from '@hishamos/persistence';
import type { ServiceContext } from '@hishamos/platform';
import { ServiceMetrics } from '@hishamos/platform';
import type { Caller } from '../access/caller';
import { SecretAccessPolicy } from '../access/secret-access.policy';
import type { SecretBackend } from '../backends/secret-backend';
import { AuditWriteError, CasMismatchError } from '../domain/secret-errors';
import { SecretsMetrics } from '../secrets.metrics';
import type { AuditEntry, AuditLogRepository } from './audit-log.repository';
import { AuditedOperationService } from './audited-operation.service';

const gateway: Caller = { kind: 'service', id: 'agent-gateway', roles: [], forwarded: false };
const alerting: Caller = { kind: 'service', id: 'alerting', roles: [], forwarded: false };

function setup(opts: { auditFails?: boolean } = {}) {
  const transactions: { tx: SqlExecutor; outcome?: 'commit' | 'rollback' }[] = [];
  const db = {
    transaction: async <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
      const tx = { query: jest.fn(), run: jest.fn() } as unknown as SqlExecutor;
      const t: { tx: SqlExecutor; outcome?: 'commit' | 'rollback' } = { tx };
      transactions.push(t);
      try {
        const r = await fn(tx);
        t.outcome = 'commit';
        return r;
      } catch (e) {
        t.outcome = 'rollback';
        throw e;
      }
    },
  };
  const recorded: { tx: SqlExecutor; entry: AuditEntry }[] = [];
  const audit = {
    record: jest.fn(async (tx: SqlExecutor, entry: AuditEntry) => {
      if (opts.auditFails) throw new AuditWriteError();
      recorded.push({ tx, entry });
      return 'id';
    }),
  } as unknown as AuditLogRepository;
  const policy = new SecretAccessPolicy({
    adminScopes: 'ai/platforms/*',
    adminCanReadValues: false,
    adminServices: '',
  });
  const backend = { id: 'local' } as SecretBackend;
  const metrics = new SecretsMetrics(new ServiceMetrics('secrets-spec'));
  const service = new AuditedOperationService({ db } as unknown as ServiceContext, backend, policy, audit, metrics);
  return { service, transactions, recorded, metrics };
}

describe('AuditedOperationService', () => {
  it('runs the operation and its success record in one transaction', async () => {
    const { service, transactions, recorded } = setup();
    let opTx: SqlExecutor | undefined;
    const result = await service.run({ caller: gateway, action: 'write', path: 'ai/platforms/openai' }, async (tx) => {
      opTx = tx;
      return { result: 'ok', version: 3, details: { cas: 2 } };
    });
    expect(result).toBe('ok');
    expect(transactions.map((t) => t.outcome)).toEqual(['commit']);
    expect(recorded).toEqual([
      {
        tx: opTx,
        entry: expect.objectContaining({
          caller: 'agent-gateway',
          callerKind: 'service',
          path: 'ai/platforms/openai',
          version: 3,
          action: 'secret.write',
          outcome: 'success',
          backend: 'local',
          details: { cas: 2 },
        }),
      },
    ]);
  });

  it('records and publishes a denial, never running the operation', async () => {
    const { service, recorded, metrics } = setup();
    const op = jest.fn();
    await expect(
      service.run({ caller: alerting, action: 'read', path: 'ai/platforms/openai' }, op),
    ).rejects.toMatchObject({
      status: 403,
      code: 'forbidden_path',
    });
    expect(op).not.toHaveBeenCalled();
    expect(recorded.map((r) => [r.entry.outcome, r.entry.reason, r.entry.caller])).toEqual([
      ['denied', 'forbidden_path', 'alerting'],
    ]);
    expect((await metrics.operations.get()).values).toEqual([
      expect.objectContaining({ labels: { action: 'read', outcome: 'denied', backend: 'local' }, value: 1 }),
    ]);
  });

  it('rolls back a failed operation and records the failure in a transaction of its own', async () => {
    const { service, transactions, recorded } = setup();
    let opTx: SqlExecutor | undefined;
    await expect(
      service.run({ caller: gateway, action: 'write', path: 'providers/x' }, async (tx) => {
        opTx = tx;
        throw new CasMismatchError('providers/x', 1, 2);
      }),
    ).rejects.toBeInstanceOf(CasMismatchError);
    expect(transactions.map((t) => t.outcome)).toEqual(['rollback', 'commit']);
    expect(recorded).toHaveLength(1);
    expect(recorded[0].tx).not.toBe(opTx);
    expect(recorded[0].entry).toMatchObject({ outcome: 'error', reason: 'cas_mismatch', action: 'secret.write' });
  });

  it('fails the request when the audit record cannot be written', async () => {
    const { service, transactions } = setup({ auditFails: true });
    await expect(
      service.run({ caller: gateway, action: 'read', path: 'providers/x' }, async () => ({ result: 'value' })),
    ).rejects.toBeInstanceOf(AuditWriteError);
    expect(transactions.map((t) => t.outcome)).toEqual(['rollback']);
    await expect(
      service.run({ caller: alerting, action: 'read', path: 'providers/x' }, jest.fn()),
    ).rejects.toBeInstanceOf(AuditWriteError);
  });

  it('skips the record of an operation that turned out to be a no-op', async () => {
    const { service, recorded } = setup();
    await service.run({ caller: gateway, action: 'write', path: 'providers/x' }, async () => ({
      result: 1,
      skipAudit: true,
    }));
    expect(recorded).toEqual([]);
  });
});
