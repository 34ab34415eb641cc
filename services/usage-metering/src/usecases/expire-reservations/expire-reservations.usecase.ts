import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import { ReservationRepository } from '../../repositories/reservation.repository';

export class ExpireReservationsCommand {
  /** Reservations closed per statement. */
  readonly batchSize: number = 500;
}

/**
 * Expires reservations nobody settled or released before their expiry (a crashed gateway cannot
 * leak budget) and purges closed ones past the retention. Safe to run on several replicas at once:
 * a reservation closes only while active, and closing it frees its amount exactly once.
 */
@Injectable()
export class ExpireReservationsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly reservations: ReservationRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  async execute(
    command: ExpireReservationsCommand = new ExpireReservationsCommand(),
  ): Promise<{ expired: number; purged: number }> {
    const now = this.clock.now();
    let expired = 0;
    for (;;) {
      const ids = await this.reservations.expiredIds(this.ctx.db, now, command.batchSize);
      if (ids.length === 0) break;
      const closed = await this.reservations.close(this.ctx.db, ids, 'expired', now);
      expired += closed.length;
      if (ids.length < command.batchSize) break;
    }
    if (expired) this.metrics.reservationsClosed.inc({ status: 'expired' }, expired);
    const retention = this.config.settings.RESERVATION_RETENTION_DAYS * 86_400_000;
    const purged = await this.reservations.purgeClosed(this.ctx.db, new Date(now.getTime() - retention));
    return { expired, purged };
  }
}
