import { Inject, Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type Role, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../audit/audit-log.service';
import { IdentityCache } from '../../auth/identity-cache';
import { actorName, type RequestActor, type UserView } from '../../identity.types';
import { isUuid } from '../../sql-values';
import { ROLE_LIST } from '../../users/user-fields';
import { UserRepository, userView } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';
import { lastAdmin } from '../update-user/update-user.usecase';

export class SetUserRolesCommand {
  @IsArray()
  @ArrayMinSize(1, { message: 'roles must name at least one role' })
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsIn(ROLE_LIST, { each: true, message: `each role must be one of ${ROLE_LIST.join(', ')}` })
  roles!: Role[];
}

/** Replaces a user's roles (admin). The last active admin keeps the admin role. */
@Injectable()
export class SetUserRolesUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly users: UserRepository,
    private readonly cache: IdentityCache,
    private readonly audit: AuditLogService,
  ) {}

  async execute(userId: string, input: SetUserRolesCommand, actor: RequestActor): Promise<UserView> {
    const command = toValidCommand(SetUserRolesCommand, input);
    if (!isUuid(userId)) throw ApiError.notFound('user', userId);
    const roles = ROLE_LIST.filter((r) => command.roles.includes(r));
    try {
      const updated = await transactionWithHooks(this.ctx.db, async (tx) => {
        const user = await this.users.findById(userId, tx, { forUpdate: true });
        if (!user || user.status === 'deleted') throw ApiError.notFound('user', userId);
        if (user.roles.includes('admin') && !roles.includes('admin') && user.status === 'active') {
          await tx.query(`SELECT pg_advisory_xact_lock(hashtext('identity:admins'))`);
          if ((await this.users.countOtherActiveAdmins(userId, tx)) === 0) throw lastAdmin('remove the admin role of');
        }
        const row = await this.users.update(userId, { roles }, tx);
        await this.audit.record(
          {
            actor: actorName(actor.identity),
            action: 'user.roles_changed',
            resourceType: 'user',
            resourceId: userId,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: { from: user.roles, to: roles },
          },
          tx,
        );
        return row!;
      });
      return userView(updated);
    } finally {
      this.cache.invalidateUser(userId);
    }
  }
}
