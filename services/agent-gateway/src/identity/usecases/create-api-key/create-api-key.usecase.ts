import { Inject, Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { ApiKeyRepository } from '../../api-keys/api-key.repository';
import { AuditLogService } from '../../audit/audit-log.service';
import { ApiKeyHasher, generateApiKey } from '../../crypto/api-key-codec';
import { IdentityKeyring } from '../../crypto/identity-keyring';
import { isUniqueViolation } from '../../db-errors';
import { actorName, API_KEY_SCOPES, type ApiKeyView, type RequestActor } from '../../identity.types';
import { UserRepository } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';

const MAX_ACTIVE_KEYS_PER_USER = 100;

export class CreateApiKeyCommand {
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  /** Default ["*"]: everything the user's roles allow. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true, message: `each scope must be one of ${API_KEY_SCOPES.join(', ')}` })
  scopes?: string[];

  /** When the key stops working (ISO 8601, in the future). */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: string;

  /** Alternative to expiresAt. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3650)
  expiresInDays?: number;

  /** Admins may create a key for another user. */
  @IsOptional()
  @IsUUID('all', { message: 'userId must be a user id (UUID)' })
  userId?: string;
}

export interface CreatedApiKey extends ApiKeyView {
  /** The key itself: shown this once, never again. */
  key: string;
}

/**
 * Creates an API key for the caller (or, for admins, any user): `hos_<prefix>_<secret>`, returned
 * once; only its keyed hash is stored. A key created with a scoped key gets at most those scopes.
 */
@Injectable()
export class CreateApiKeyUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'db'>,
    private readonly keyring: IdentityKeyring,
    private readonly apiKeys: ApiKeyRepository,
    private readonly users: UserRepository,
    private readonly audit: AuditLogService,
  ) {}

  async execute(input: CreateApiKeyCommand, actor: RequestActor): Promise<CreatedApiKey> {
    const command = toValidCommand(CreateApiKeyCommand, input);
    const me = actor.identity;
    const userId = command.userId ?? (me.kind === 'user' ? me.subject : undefined);
    if (!userId) throw ApiError.badRequest('userId', 'required when a service creates a key');
    const isAdmin = me.kind === 'user' && me.roles.includes('admin');
    if (userId !== me.subject && !isAdmin)
      throw ApiError.forbidden('only admins may create API keys for other users', 'forbidden_role');
    const scopes = command.scopes ?? ['*'];
    if (me.scopes && !me.scopes.includes('*') && !scopes.every((s) => s !== '*' && me.scopes!.includes(s)))
      throw new ApiError(
        403,
        'insufficient_scope',
        `an API key with scopes ${me.scopes.join(', ')} cannot create a key with scopes ${scopes.join(', ')}`,
        { field: 'scopes', reason: 'more than the creating key has' },
      );
    if (command.expiresAt && command.expiresInDays !== undefined)
      throw ApiError.badRequest('expiresAt', 'give expiresAt or expiresInDays, not both', 'validation_failed');
    let expiresAt: string | null = null;
    if (command.expiresAt) {
      const at = new Date(command.expiresAt);
      if (at.getTime() <= Date.now())
        throw ApiError.badRequest('expiresAt', 'must be in the future', 'validation_failed');
      expiresAt = at.toISOString();
    } else if (command.expiresInDays !== undefined) {
      expiresAt = new Date(Date.now() + command.expiresInDays * 86_400_000).toISOString();
    }

    for (let attempt = 0; ; attempt++) {
      const generated = generateApiKey();
      try {
        const view = await transactionWithHooks(this.ctx.db, async (tx) => {
          const user = await this.users.findById(userId, tx);
          if (!user || user.status === 'deleted') throw ApiError.notFound('user', userId);
          if (user.status !== 'active')
            throw ApiError.conflict(`user ${userId} is ${user.status}: enable them first`, 'user_disabled');
          if ((await this.apiKeys.countActive(userId, tx)) >= MAX_ACTIVE_KEYS_PER_USER)
            throw ApiError.conflict(
              `a user may have at most ${MAX_ACTIVE_KEYS_PER_USER} active API keys: revoke one first`,
              'too_many_keys',
            );
          const created = await this.apiKeys.insert(
            {
              userId,
              name: command.name,
              prefix: generated.prefix,
              keyHash: this.keyring.apiKeyHasher.hash(generated.key),
              hashScheme: ApiKeyHasher.SCHEME,
              scopes,
              expiresAt,
              createdBy: actorName(me),
            },
            tx,
          );
          await this.audit.record(
            {
              actor: actorName(me),
              action: 'api_key.created',
              resourceType: 'api_key',
              resourceId: created.id,
              outcome: 'success',
              ipAddress: actor.ip,
              userAgent: actor.userAgent,
              details: { userId, name: command.name, prefix: created.prefix, scopes, expiresAt },
            },
            tx,
          );
          return created;
        });
        return { ...view, key: generated.key };
      } catch (error) {
        // A prefix collision (1 in ~10^12 per existing key): draw another key.
        if (isUniqueViolation(error) && attempt < 5) continue;
        throw error;
      }
    }
  }
}
