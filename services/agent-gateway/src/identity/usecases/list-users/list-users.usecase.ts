import { Injectable } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { Role } from '@hishamos/platform';
import type { Page, UserStatus, UserView } from '../../identity.types';
import { ROLE_LIST } from '../../users/user-fields';
import { UserRepository } from '../../users/user.repository';
import { toValidCommand } from '../../validate-command';

export class ListUsersQuery {
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

  /** Part of the email or name. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;

  @IsOptional()
  @IsIn(ROLE_LIST)
  role?: Role;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  teamId?: string;

  @IsOptional()
  @IsIn(['active', 'disabled', 'deleted'])
  status?: UserStatus;
}

/** Users, oldest first, a page at a time (deleted ones only when asked for). */
@Injectable()
export class ListUsersUseCase {
  constructor(private readonly users: UserRepository) {}

  execute(input: ListUsersQuery): Promise<Page<UserView>> {
    const query = toValidCommand(ListUsersQuery, input);
    return this.users.list({ ...query, limit: query.limit ?? 50 });
  }
}
