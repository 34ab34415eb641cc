import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiError, CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { GetUserSpendUseCase } from '../usecases/get-user-spend/get-user-spend.usecase';
import { TopSpendersCommand, TopSpendersUseCase } from '../usecases/top-spenders/top-spenders.usecase';
import { readableUser } from './access';

/** Spend against limits: your own today, anyone's for staff, and the top spenders. */
@Controller('v1/spend')
export class SpendController {
  constructor(
    private readonly userSpend: GetUserSpendUseCase,
    private readonly topSpenders: TopSpendersUseCase,
  ) {}

  /** The caller's spend today, this week and this month against the limits that apply to them. */
  @Get('today')
  today(@CurrentIdentity() identity: Identity) {
    if (identity.kind !== 'user') throw ApiError.badRequest('user', 'use /v1/spend/users/:userId for a service caller');
    return this.userSpend.execute({ userId: identity.subject, teamId: identity.teamId });
  }

  @RequireRoles('admin', 'operator')
  @Get('top')
  top(@Query() command: TopSpendersCommand) {
    return this.topSpenders.execute(command);
  }

  @Get('users/:userId')
  user(@Param('userId') userId: string, @CurrentIdentity() identity: Identity, @Query('teamId') teamId?: string) {
    const id = readableUser(identity, userId)!;
    const team = identity.kind === 'user' && identity.subject === id ? (teamId ?? identity.teamId) : teamId;
    return this.userSpend.execute({ userId: id, teamId: team });
  }
}
