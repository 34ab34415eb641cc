import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { MeteringConfig } from '../config/metering-config';
import { ExpireReservationsUseCase } from '../usecases/expire-reservations/expire-reservations.usecase';
import { RefreshUtilizationUseCase } from '../usecases/refresh-utilization/refresh-utilization.usecase';

/** Runs the periodic jobs: expire unsettled reservations, refresh the utilisation gauge. */
@Injectable()
export class ReservationSweeper implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly config: MeteringConfig,
    private readonly expire: ExpireReservationsUseCase,
    private readonly utilization: RefreshUtilizationUseCase,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.config.settings.RESERVATION_SWEEP_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  /** One round (also called by tests); never two at once. */
  tick(): Promise<void> {
    if (!this.running) {
      this.running = (async () => {
        try {
          await this.expire.execute();
          await this.utilization.execute();
        } catch (error) {
          this.ctx.logger.warn({ err: error }, 'reservation sweep failed; retrying next interval');
        } finally {
          this.running = undefined;
        }
      })();
    }
    return this.running;
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
