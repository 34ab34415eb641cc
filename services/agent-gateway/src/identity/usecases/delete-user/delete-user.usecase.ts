import { Inject, Injectable } from '@nestjs/common';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ApiKeyRepository } from '../../api-keys/api-key.repository';
import { AuditLogService } from '../../audit/audit-log.service';
import { IdentityCache } from '../../auth/identity-cache';
import { actorName, type RequestActor, type UserView } from '../../identity.types';
import { isUuid } from '../../sql-values';
import { UserRepository, userView } from '../../users/user.repository';
import { lastAdmin } from '../update-user/update-user.usecase';

/**
 * Deletes a user (admin): the row stays for the audit trail as `deleted` (its email may be reused),
 * every API key of theirs is revoked in the same transaction.
 */
@Injectable()
export class DeleteUserUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly users: UserRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly cache: IdentityCache,
    private readonly audit: AuditLogService,
  ) {}

  async execute(userId: string, actor: RequestActor): Promise<UserView> {
    if (!isUuid(userId)) throw ApiError.notFound('user', userId);
    if (actor.identity.kind === 'user' && actor.identity.subject === userId)
      throw ApiError.conflict('you cannot delete yourself', 'cannot_delete_self');
    const by = actorName(actor.identity);
    let revoked: string[] = [];
    try {
      const deleted = await transactionWithHooks(this.ctx.db, async (tx) => {
        const user = await this.users.findById(userId, tx, { forUpdate: true });
        if (!user || user.status === 'deleted') throw ApiError.notFound('user', userId);
        if (user.roles.includes('admin') && user.status === 'active') {
          await tx.query(`SELECT pg_advisory_xact_lock(hashtext('identity:admins'))`);
          if ((await this.users.countOtherActiveAdmins(userId, tx)) === 0) throw lastAdmin('delete');
        }
        const row = await this.users.update(userId, { status: 'deleted' }, tx);
        revoked = await this.apiKeys.revokeAllOf(userId, by, tx);
        await this.audit.record(
          {
            actor: by,
            action: 'user.deleted',
            resourceType: 'user',
            resourceId: userId,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: { email: user.email, revokedKeys: revoked.length },
          },
          tx,
        );
        return row!;
      });
      return userView(deleted);
    } finally {
      this.cache.invalidateUser(userId);
      for (const prefix of revoked) this.cache.invalidateKey(prefix);
    }
  }
}
