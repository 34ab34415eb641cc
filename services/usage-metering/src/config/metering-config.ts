import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import { LocalCalendar } from '../domain/periods';
import { UsageMeteringSettings } from './usage-metering.settings';

/** The service's validated settings and the budget calendar built from them. */
@Injectable()
export class MeteringConfig {
  readonly settings: UsageMeteringSettings;
  readonly calendar: LocalCalendar;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const raw = settingsOf<UsageMeteringSettings | Record<string, never>>(ctx);
    // Tolerate a context built without the settings class (defaults apply).
    this.settings = Object.assign(new UsageMeteringSettings(), raw);
    this.calendar = new LocalCalendar(this.settings.BUDGET_TIME_ZONE);
  }

  get timeZone(): string {
    return this.settings.BUDGET_TIME_ZONE;
  }
}
