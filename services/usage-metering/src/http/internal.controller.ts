import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiError, ServiceOnly } from '@hishamos/platform';
import { ReleaseReservationUseCase } from '../usecases/release-reservation/release-reservation.usecase';
import { reserveBudgetCommandOf } from '../usecases/reserve-budget/reserve-budget.command';
import { ReserveBudgetUseCase } from '../usecases/reserve-budget/reserve-budget.usecase';
import { GetUserSpendUseCase } from '../usecases/get-user-spend/get-user-spend.usecase';
import {
  BudgetLeaseUseCase,
  CloseLeaseCommand,
  GrantLeaseCommand,
  PriceQuery,
} from '../usecases/budget-lease/budget-lease.usecase';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The gateway's budget API: reserve before a provider call, release when it failed, read spend; or
 * take a lease to grant calls from locally, give it back, and read a model's current price.
 */
@Controller('internal/v1')
export class InternalController {
  constructor(
    private readonly reserveBudget: ReserveBudgetUseCase,
    private readonly releaseReservation: ReleaseReservationUseCase,
    private readonly userSpend: GetUserSpendUseCase,
    private readonly leases: BudgetLeaseUseCase,
  ) {}

  @ServiceOnly('agent-gateway')
  @Post('leases')
  @HttpCode(200)
  grantLease(@Body() command: GrantLeaseCommand) {
    return this.leases.grant(command);
  }

  @ServiceOnly('agent-gateway')
  @Post('leases/:id/close')
  @HttpCode(200)
  closeLease(@Param('id') id: string, @Body() command: CloseLeaseCommand) {
    if (!UUID.test(id)) throw ApiError.badRequest('id', 'is not a lease id');
    return this.leases.close(id, command);
  }

  @ServiceOnly('agent-gateway')
  @Get('prices/current')
  currentPrice(@Query() query: PriceQuery) {
    return this.leases.price(query);
  }

  @ServiceOnly('agent-gateway')
  @Post('reservations')
  @HttpCode(201)
  reserve(@Body() body: unknown) {
    // Validated here, not by the global pipe (it skips an untyped body): a hand-written check on the hot path.
    const command = reserveBudgetCommandOf(body);
    return command instanceof Promise
      ? command.then((c) => this.reserveBudget.execute(c))
      : this.reserveBudget.execute(command);
  }

  @ServiceOnly('agent-gateway')
  @Post('reservations/:id/release')
  @HttpCode(200)
  release(@Param('id') id: string) {
    if (!UUID.test(id)) throw ApiError.badRequest('id', 'is not a reservation id');
    return this.releaseReservation.execute({ reservationId: id });
  }

  @ServiceOnly('agent-gateway')
  @Get('spend/users/:userId')
  spend(@Param('userId') userId: string, @Query('teamId') teamId?: string) {
    if (!userId || userId.length > 200) throw ApiError.badRequest('userId', 'is required');
    if (teamId !== undefined && (typeof teamId !== 'string' || teamId.length > 200))
      throw ApiError.badRequest('teamId', 'is not a team id');
    return this.userSpend.execute({ userId, teamId });
  }
}
