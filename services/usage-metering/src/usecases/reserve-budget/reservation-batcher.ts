import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import {
  ReservationRepository,
  type ReserveRequest,
  type ReserveResult,
} from '../../repositories/reservation.repository';

interface Waiting {
  request: ReserveRequest;
  resolve: (result: ReserveResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces the reservation requests that arrive while others are being decided into one call of
 * `reserve_budgets` (one round trip, one transaction), at most RESERVATION_BATCH_CONCURRENCY calls at
 * a time and RESERVATION_BATCH_MAX requests per call. A request that finds a free slot goes at once,
 * alone: batching only happens under concurrency, where it replaces a queue of transactions on the
 * same counter rows by one. The function decides a batch in arrival order exactly as one-at-a-time
 * calls would, so every hard limit holds the same way; two requests with the same request id never
 * share a batch (the second one finds the first one's reservation).
 */
@Injectable()
export class ReservationBatcher {
  private queue: Waiting[] = [];
  private running = 0;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly reservations: ReservationRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  reserve(request: ReserveRequest): Promise<ReserveResult> {
    return new Promise<ReserveResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const slots = this.ctx.db.kind === 'pglite' ? 1 : this.config.settings.RESERVATION_BATCH_CONCURRENCY;
    while (this.running < slots && this.queue.length > 0) {
      const batch = this.take();
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** The oldest waiting requests, at most RESERVATION_BATCH_MAX, no request id twice. */
  private take(): Waiting[] {
    const max = this.config.settings.RESERVATION_BATCH_MAX;
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    const ids = new Set<string>();
    for (const w of this.queue) {
      if (batch.length < max && !ids.has(w.request.requestId)) {
        ids.add(w.request.requestId);
        batch.push(w);
      } else rest.push(w);
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: Waiting[]): Promise<void> {
    const now = this.clock.now();
    const params = {
      now,
      ttlSeconds: this.config.settings.RESERVATION_TTL_SECONDS,
      starts: this.config.calendar.periodsOf(now),
      synchronousCommit: this.config.settings.RESERVATION_SYNCHRONOUS_COMMIT === 'on',
    };
    this.metrics.reservationBatchSize.observe(batch.length);
    try {
      const results = await this.reservations.reserveMany(
        this.ctx.db,
        batch.map((w) => w.request),
        params,
      );
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      // One at a time, so a request that fails the statement fails only itself.
      for (const w of batch) {
        try {
          const [result] = await this.reservations.reserveMany(this.ctx.db, [w.request], params);
          w.resolve(result);
        } catch (e) {
          w.reject(e);
        }
      }
    }
  }
}
