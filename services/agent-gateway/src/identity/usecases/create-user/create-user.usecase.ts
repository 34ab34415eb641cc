import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type Role, type ServiceContext } from '@hishamos/platform';
import type { IdentitySettings } from '../../../config/identity.settings';
import { AuditLogService } from '../../audit/audit-log.service';
import { PasswordHasher } from '../../crypto/password-hasher';
import { isUniqueViolation } from '../../db-errors';
import { IDENTITY_SETTINGS } from '../../identity-settings.provider';
import { actorName, type AgentAccessDefault, type RequestActor, type UserView } from '../../identity.types';
import { MeteringBudgetClient } from '../../users/metering-budget.client';
import { ROLE_LIST, TEAM_ID, ToDecimalString, ToLowerTrimmed, USD_DECIMAL } from '../../users/user-fields';
import { UserRepository, userView } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';

export class CreateUserCommand {
  @ToLowerTrimmed()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  /** Console password (scrypt-hashed); omit for API-key-only or identity-provider users. */
  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'password must be at least 12 characters' })
  @MaxLength(200)
  password?: string;

  /** Default: ["member"]. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsIn(ROLE_LIST, { each: true, message: `each role must be one of ${ROLE_LIST.join(', ')}` })
  roles?: Role[];

  @IsOptional()
  @Matches(TEAM_ID, { message: 'teamId must be 1-64 letters, digits, ".", "_", ":" or "-"' })
  teamId?: string;

  /** What agents without a toggle mean for this user; default DEFAULT_AGENT_ACCESS. */
  @IsOptional()
  @IsIn(['all', 'none'])
  defaultAgentAccess?: AgentAccessDefault;

  /** The user's daily hard limit in US dollars, stored at usage-metering. */
  @IsOptional()
  @ToDecimalString()
  @Matches(USD_DECIMAL, { message: 'dailyBudgetUsd must be a non-negative amount in US dollars, e.g. "25.00"' })
  dailyBudgetUsd?: string;
}

/** Creates a user (admin); sets their daily budget at usage-metering first, so a refused budget creates nothing. */
@Injectable()
export class CreateUserUseCase {
  private readonly passwords = new PasswordHasher();

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
    private readonly users: UserRepository,
    private readonly audit: AuditLogService,
    private readonly budgets: MeteringBudgetClient,
  ) {}

  async execute(input: CreateUserCommand, actor: RequestActor): Promise<UserView> {
    const command = toValidCommand(CreateUserCommand, input);
    if (await this.users.findByEmail(command.email)) throw emailTaken(command.email);
    const passwordHash = command.password ? await this.passwords.hash(command.password) : null;
    // The id is chosen up front so the budget can be set before the user exists.
    const id = randomUUID();
    if (command.dailyBudgetUsd !== undefined)
      await this.budgets.setDailyBudget(id, command.dailyBudgetUsd, actor.identity);
    try {
      return await transactionWithHooks(this.ctx.db, async (tx) => {
        const created = await this.users.insert(
          {
            email: command.email,
            name: command.name,
            passwordHash,
            roles: command.roles ?? ['member'],
            teamId: command.teamId ?? null,
            defaultAgentAccess: command.defaultAgentAccess ?? this.settings.DEFAULT_AGENT_ACCESS,
            createdBy: actorName(actor.identity),
            id,
          },
          tx,
        );
        await this.audit.record(
          {
            actor: actorName(actor.identity),
            action: 'user.created',
            resourceType: 'user',
            resourceId: created.id,
            outcome: 'success',
            ipAddress: actor.ip,
            userAgent: actor.userAgent,
            details: {
              email: created.email,
              roles: created.roles,
              teamId: created.teamId,
              defaultAgentAccess: created.defaultAgentAccess,
              passwordSet: created.hasPassword,
              ...(command.dailyBudgetUsd !== undefined ? { dailyBudgetUsd: command.dailyBudgetUsd } : {}),
            },
          },
          tx,
        );
        return userView(created);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw emailTaken(command.email);
      throw error;
    }
  }
}

export function emailTaken(email: string): ApiError {
  return new ApiError(409, 'email_taken', `a user with the email ${email} exists already`, {
    field: 'email',
    reason: 'already used',
  });
}
