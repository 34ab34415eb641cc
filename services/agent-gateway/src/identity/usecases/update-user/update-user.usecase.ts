import { Inject, Injectable } from '@nestjs/common';
import { IsEmail, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AuditLogService } from '../../audit/audit-log.service';
import { IdentityCache } from '../../auth/identity-cache';
import { PasswordHasher } from '../../crypto/password-hasher';
import { isUniqueViolation } from '../../db-errors';
import { actorName, type AgentAccessDefault, type RequestActor, type UserView } from '../../identity.types';
import { isUuid } from '../../sql-values';
import { MeteringBudgetClient } from '../../users/metering-budget.client';
import { TEAM_ID, ToDecimalString, ToLowerTrimmed, USD_DECIMAL } from '../../users/user-fields';
import { UserRepository, userView, type UserPatch } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';
import { emailTaken } from '../create-user/create-user.usecase';

export class UpdateUserCommand {
  @IsOptional()
  @ToLowerTrimmed()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  /** Sets (resets) the console password. */
  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'password must be at least 12 characters' })
  @MaxLength(200)
  password?: string;

  /** null removes the user from their team. */
  @IsOptional()
  @Matches(TEAM_ID, { message: 'teamId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  teamId?: string | null;

  @IsOptional()
  @IsIn(['active', 'disabled'])
  status?: 'active' | 'disabled';

  @IsOptional()
  @IsIn(['all', 'none'])
  defaultAgentAccess?: AgentAccessDefault;

  @IsOptional()
  @ToDecimalString()
  @Matches(USD_DECIMAL, { message: 'dailyBudgetUsd must be a non-negative amount in US dollars, e.g. "25.00"' })
  dailyBudgetUsd?: string;
}

/** Changes a user's profile, team, status, agent default or daily budget (admin); one audit row. */
@Injectable()
export class UpdateUserUseCase {
  private readonly passwords = new PasswordHasher();

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly users: UserRepository,
    private readonly cache: IdentityCache,
    private readonly audit: AuditLogService,
    private readonly budgets: MeteringBudgetClient,
  ) {}

  async execute(userId: string, input: UpdateUserCommand, actor: RequestActor): Promise<UserView> {
    const command = toValidCommand(UpdateUserCommand, input);
    const current = isUuid(userId) ? await this.users.findById(userId) : undefined;
    if (!current || current.status === 'deleted') throw ApiError.notFound('user', userId);
    if (command.email && command.email !== current.email) {
      const other = await this.users.findByEmail(command.email);
      if (other && other.id !== userId) throw emailTaken(command.email);
    }
    const patch: UserPatch = {};
    const changed: Record<string, unknown> = {};
    if (command.email !== undefined && command.email !== current.email) patch.email = changed.email = command.email;
    if (command.name !== undefined && command.name !== current.name) patch.name = changed.name = command.name;
    if (command.teamId !== undefined && command.teamId !== current.teamId)
      patch.teamId = changed.teamId = command.teamId;
    if (command.status !== undefined && command.status !== current.status)
      patch.status = changed.status = command.status;
    if (command.defaultAgentAccess !== undefined && command.defaultAgentAccess !== current.defaultAgentAccess)
      patch.defaultAgentAccess = changed.defaultAgentAccess = command.defaultAgentAccess;
    if (command.password !== undefined) {
      patch.passwordHash = await this.passwords.hash(command.password);
      changed.passwordSet = true;
    }
    if (command.dailyBudgetUsd !== undefined) {
      await this.budgets.setDailyBudget(userId, command.dailyBudgetUsd, actor.identity);
      changed.dailyBudgetUsd = command.dailyBudgetUsd;
    }
    if (Object.keys(changed).length === 0) return userView(current);
    try {
      const updated = await transactionWithHooks(this.ctx.db, async (tx) => {
        const locked = await this.users.findById(userId, tx, { forUpdate: true });
        if (!locked || locked.status === 'deleted') throw ApiError.notFound('user', userId);
        if (patch.status === 'disabled' && locked.roles.includes('admin')) {
          await tx.query(`SELECT pg_advisory_xact_lock(hashtext('identity:admins'))`);
          if ((await this.users.countOtherActiveAdmins(userId, tx)) === 0) throw lastAdmin('disable');
        }
        const row = Object.keys(patch).length ? await this.users.update(userId, patch, tx) : locked;
        await this.audit.record(
          {
            actor: actorName(actor.identity),
            action: patch.status ? `user.${patch.status === 'disabled' ? 'disabled' : 'enabled'}` : 'user.updated',
            resourceType: 'user',
            resourceId: userId,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: { changed },
          },
          tx,
        );
        return row!;
      });
      return userView(updated);
    } catch (error) {
      if (isUniqueViolation(error)) throw emailTaken(command.email ?? '');
      throw error;
    } finally {
      this.cache.invalidateUser(userId);
    }
  }
}

export function lastAdmin(what: string): ApiError {
  return ApiError.conflict(`cannot ${what} the last active admin: make another user admin first`, 'last_admin');
}
