import { Global, Module, type Type } from '@nestjs/common';
import { CLOCK, SystemClock, type Clock } from './adapters/clock';
import { MeteringConfig } from './config/metering-config';
import { UsageRecordedConsumer } from './consumers/usage-recorded.consumer';
import { BudgetsController } from './http/budgets.controller';
import { InternalController } from './http/internal.controller';
import { PlansController, SubscriptionsController } from './http/plans.controller';
import { PricesController } from './http/prices.controller';
import { SpendController } from './http/spend.controller';
import { UsageController } from './http/usage.controller';
import { MeteringMetrics } from './metrics/metering.metrics';
import { BudgetRepository } from './repositories/budget.repository';
import { PlanRepository } from './repositories/plan.repository';
import { PriceRepository } from './repositories/price.repository';
import { ReservationRepository } from './repositories/reservation.repository';
import { SpendRepository } from './repositories/spend.repository';
import { UsageQueryRepository } from './repositories/usage-query.repository';
import { UsageRepository } from './repositories/usage.repository';
import { ReservationSweeper } from './schedulers/reservation-sweeper';
import { DeleteBudgetUseCase } from './usecases/delete-budget/delete-budget.usecase';
import { ExpireReservationsUseCase } from './usecases/expire-reservations/expire-reservations.usecase';
import { GetUserSpendUseCase } from './usecases/get-user-spend/get-user-spend.usecase';
import { IngestUsageUseCase } from './usecases/ingest-usage/ingest-usage.usecase';
import { ListBudgetsUseCase } from './usecases/list-budgets/list-budgets.usecase';
import { ListPlansUseCase } from './usecases/list-plans/list-plans.usecase';
import { ListPricesUseCase } from './usecases/list-prices/list-prices.usecase';
import { ListSubscriptionsUseCase } from './usecases/list-subscriptions/list-subscriptions.usecase';
import { ListUsageRecordsUseCase } from './usecases/list-usage-records/list-usage-records.usecase';
import { QueryUsageUseCase } from './usecases/query-usage/query-usage.usecase';
import { RefreshUtilizationUseCase } from './usecases/refresh-utilization/refresh-utilization.usecase';
import { BudgetLeaseUseCase } from './usecases/budget-lease/budget-lease.usecase';
import { ReleaseReservationUseCase } from './usecases/release-reservation/release-reservation.usecase';
import { ReservationBatcher } from './usecases/reserve-budget/reservation-batcher';
import { ReserveBudgetUseCase } from './usecases/reserve-budget/reserve-budget.usecase';
import { SetBudgetUseCase } from './usecases/set-budget/set-budget.usecase';
import { SetPlanUseCase } from './usecases/set-plan/set-plan.usecase';
import { SetPriceUseCase } from './usecases/set-price/set-price.usecase';
import { SetSubscriptionUseCase } from './usecases/set-subscription/set-subscription.usecase';
import { TopSpendersUseCase } from './usecases/top-spenders/top-spenders.usecase';

/** The usage-metering service's use cases, controllers and repositories (the clock comes from outside). */
@Module({
  controllers: [
    InternalController,
    UsageController,
    SpendController,
    BudgetsController,
    PricesController,
    PlansController,
    SubscriptionsController,
  ],
  providers: [
    MeteringConfig,
    MeteringMetrics,
    UsageRepository,
    ReservationRepository,
    SpendRepository,
    BudgetRepository,
    PlanRepository,
    PriceRepository,
    UsageQueryRepository,
    IngestUsageUseCase,
    ReservationBatcher,
    ReserveBudgetUseCase,
    ReleaseReservationUseCase,
    BudgetLeaseUseCase,
    ExpireReservationsUseCase,
    RefreshUtilizationUseCase,
    GetUserSpendUseCase,
    SetBudgetUseCase,
    DeleteBudgetUseCase,
    ListBudgetsUseCase,
    SetPriceUseCase,
    ListPricesUseCase,
    QueryUsageUseCase,
    TopSpendersUseCase,
    ListUsageRecordsUseCase,
    SetPlanUseCase,
    ListPlansUseCase,
    SetSubscriptionUseCase,
    ListSubscriptionsUseCase,
    UsageRecordedConsumer,
    ReservationSweeper,
  ],
})
export class UsageMeteringCoreModule {}

/** The service's root module with a given clock (the system clock in production, a manual one in tests). */
export function usageMeteringModule(clock: Clock = new SystemClock()): Type<unknown> {
  @Global()
  @Module({ providers: [{ provide: CLOCK, useValue: clock }], exports: [CLOCK] })
  class ClockModule {}

  @Module({ imports: [ClockModule, UsageMeteringCoreModule] })
  class UsageMeteringModule {}
  return UsageMeteringModule;
}

export const UsageMeteringModule = usageMeteringModule();
