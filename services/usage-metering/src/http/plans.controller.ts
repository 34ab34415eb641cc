import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { ListPlansUseCase } from '../usecases/list-plans/list-plans.usecase';
import {
  ListSubscriptionsCommand,
  ListSubscriptionsUseCase,
} from '../usecases/list-subscriptions/list-subscriptions.usecase';
import { SetPlanCommand, SetPlanUseCase } from '../usecases/set-plan/set-plan.usecase';
import { SetSubscriptionCommand, SetSubscriptionUseCase } from '../usecases/set-subscription/set-subscription.usecase';
import { readableUser } from './access';

/** Plans and their default budgets. */
@Controller('v1/plans')
export class PlansController {
  constructor(
    private readonly listPlans: ListPlansUseCase,
    private readonly setPlan: SetPlanUseCase,
  ) {}

  @Get()
  list() {
    return this.listPlans.execute();
  }

  @RequireRoles('admin')
  @Put(':id')
  set(@Param('id') id: string, @Body() command: SetPlanCommand) {
    command.id = id;
    return this.setPlan.execute(command);
  }
}

/** Subscriptions (the seed's table): admins set them; people read their own. */
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(
    private readonly listSubscriptions: ListSubscriptionsUseCase,
    private readonly setSubscription: SetSubscriptionUseCase,
  ) {}

  @Get()
  list(@Query() command: ListSubscriptionsCommand, @CurrentIdentity() identity: Identity) {
    command.userId = readableUser(identity, command.userId);
    return this.listSubscriptions.execute(command);
  }

  @Get(':userId')
  one(@Param('userId') userId: string, @CurrentIdentity() identity: Identity) {
    return this.listSubscriptions.one(readableUser(identity, userId)!);
  }

  @RequireRoles('admin')
  @Put(':userId')
  set(@Param('userId') userId: string, @Body() command: SetSubscriptionCommand) {
    command.userId = userId;
    return this.setSubscription.execute(command);
  }
}
