import { Injectable } from '@nestjs/common';
import { ApiError } from '@hishamos/platform';
import type { UserView } from '../../identity.types';
import { isUuid } from '../../sql-values';
import { UserRepository, userView } from '../../users/user.repository';

/** One user (deleted users too, marked so). */
@Injectable()
export class GetUserUseCase {
  constructor(private readonly users: UserRepository) {}

  async execute(userId: string): Promise<UserView> {
    const user = isUuid(userId) ? await this.users.findById(userId) : undefined;
    if (!user) throw ApiError.notFound('user', userId);
    return userView(user);
  }
}
