import { Inject, Injectable } from '@nestjs/common';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../audit/audit-log.service';
import { PasswordHasher } from '../../crypto/password-hasher';
import { actorName, type RequestActor } from '../../identity.types';
import { UserRepository } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';

export class ChangePasswordCommand {
  /** Required when the user has a password already. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  currentPassword?: string;

  @IsString()
  @MinLength(12, { message: 'newPassword must be at least 12 characters' })
  @MaxLength(200)
  newPassword!: string;
}

/** A signed-in person sets their own console password. */
@Injectable()
export class ChangePasswordUseCase {
  private readonly passwords = new PasswordHasher();

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly users: UserRepository,
    private readonly audit: AuditLogService,
  ) {}

  async execute(input: ChangePasswordCommand, actor: RequestActor): Promise<{ changed: true }> {
    const command = toValidCommand(ChangePasswordCommand, input);
    if (actor.identity.kind !== 'user') throw ApiError.forbidden('only people have passwords');
    const user = await this.users.findById(actor.identity.subject);
    if (!user || user.status !== 'active') throw ApiError.unauthorized('user disabled');
    if (user.passwordHash) {
      if (command.currentPassword === undefined)
        throw ApiError.badRequest('currentPassword', 'required to change an existing password', 'validation_failed');
      if (!(await this.passwords.verify(command.currentPassword, user.passwordHash)))
        throw new ApiError(403, 'invalid_credentials', 'currentPassword is wrong', {
          field: 'currentPassword',
          reason: 'wrong password',
        });
    }
    const hash = await this.passwords.hash(command.newPassword);
    await transactionWithHooks(this.ctx.db, async (tx) => {
      await this.users.update(user.id, { passwordHash: hash }, tx);
      await this.audit.record(
        {
          actor: actorName(actor.identity),
          action: 'user.password_changed',
          resourceType: 'user',
          resourceId: user.id,
          outcome: 'success',
          ipAddress: actor.ip,
          userAgent: actor.userAgent,
        },
        tx,
      );
    });
    return { changed: true };
  }
}
