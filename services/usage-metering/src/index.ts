import { Topics } from '@hishamos/contracts';
import type { ServiceDefinition } from '@hishamos/platform';
import { SystemClock, type Clock } from './adapters/clock';
import { MeteringConfig } from './config/metering-config';
import { UsageMeteringSettings } from './config/usage-metering.settings';
import { UsageRecordedConsumer } from './consumers/usage-recorded.consumer';
import { ReservationSweeper } from './schedulers/reservation-sweeper';
import { usageMeteringModule } from './usage-metering.module';

export interface UsageMeteringOptions {
  /** The service's clock (tests pass a ManualClock). */
  clock?: Clock;
  /** Start the reservation sweeper (default true; tests drive it by hand). */
  sweeper?: boolean;
}

/** The usage-metering service: usage ingestion, prices, budgets and reservations, spend queries. */
export function usageMeteringDefinition(options: UsageMeteringOptions = {}): ServiceDefinition {
  return {
    name: 'usage-metering',
    consumes: [Topics.UsageRecorded],
    publishes: [Topics.BudgetThresholdCrossed, Topics.UsagePriced],
    settings: UsageMeteringSettings,
    module: usageMeteringModule(options.clock ?? new SystemClock()),
    onStart: async (_ctx, app) => {
      if (app.get(MeteringConfig).settings.USAGE_INGEST_ENABLED) await app.get(UsageRecordedConsumer).start();
      if (options.sweeper !== false) app.get(ReservationSweeper).start();
    },
  };
}

export const definition: ServiceDefinition = usageMeteringDefinition();

export { CLOCK, ManualClock, SystemClock, type Clock } from './adapters/clock';
export { UsageMeteringSettings } from './config/usage-metering.settings';
export { ReservationSweeper } from './schedulers/reservation-sweeper';
export { fromPico, toPico, sumUsd, usd } from './domain/money';
export { LocalCalendar, periodStarts } from './domain/periods';
