import { Inject, Injectable } from '@nestjs/common';
import { IsUUID } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import { ReservationRepository } from '../../repositories/reservation.repository';

export class ReleaseReservationCommand {
  @IsUUID()
  reservationId!: string;
}

export interface ReleaseResult {
  reservationId: string;
  status: 'released' | 'settled' | 'expired' | 'active';
}

/**
 * Releases a reservation that will never get usage (the provider failed before any tokens): its
 * amount stops counting at once. Idempotent: releasing a closed reservation reports its status.
 */
@Injectable()
export class ReleaseReservationUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly reservations: ReservationRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  async execute(command: ReleaseReservationCommand): Promise<ReleaseResult> {
    const id = command.reservationId.toLowerCase();
    const closed = await this.reservations.close(this.ctx.db, [id], 'released', this.clock.now());
    if (closed.length) {
      this.metrics.reservationsClosed.inc({ status: 'released' });
      return { reservationId: id, status: 'released' };
    }
    const existing = await this.reservations.get(this.ctx.db, id);
    if (!existing) throw ApiError.notFound('reservation', id);
    return { reservationId: id, status: existing.status };
  }
}
