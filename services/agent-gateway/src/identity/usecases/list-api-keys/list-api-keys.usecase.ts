import { Injectable } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { ApiError } from '@hishamos/platform';
import { ApiKeyRepository } from '../../api-keys/api-key.repository';
import type { ApiKeyView, Page, RequestActor } from '../../identity.types';
import { toValidCommand } from '../../validate-command';

const toBoolean = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class ListApiKeysQuery {
  /** Admins: another user's keys. */
  @IsOptional()
  @IsUUID('all', { message: 'userId must be a user id (UUID)' })
  userId?: string;

  /** Admins: every user's keys. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  all?: boolean;

  /** Also revoked and expired keys. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  includeInactive?: boolean;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;
}

/** The caller's API keys (prefix, scopes, expiry, last use; never the key), or any user's for admins. */
@Injectable()
export class ListApiKeysUseCase {
  constructor(private readonly apiKeys: ApiKeyRepository) {}

  execute(input: ListApiKeysQuery, actor: RequestActor): Promise<Page<ApiKeyView>> {
    const query = toValidCommand(ListApiKeysQuery, input);
    const me = actor.identity;
    const isAdmin = me.kind === 'user' && me.roles.includes('admin');
    if ((query.all || (query.userId && query.userId !== me.subject)) && !isAdmin)
      throw ApiError.forbidden("only admins may list other users' API keys", 'forbidden_role');
    if (me.kind !== 'user' && !query.userId && !query.all)
      throw ApiError.badRequest('userId', 'required when a service lists keys');
    return this.apiKeys.list({
      userId: query.all ? undefined : (query.userId ?? me.subject),
      includeInactive: query.includeInactive ?? false,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
  }
}
