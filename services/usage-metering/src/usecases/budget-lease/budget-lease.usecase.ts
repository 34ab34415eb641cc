import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { MeteringConfig } from '../../config/metering-config';
import { fromPico, toPico } from '../../domain/money';
import { IsUsdAmount } from '../../domain/usd-amount.validator';
import { MeteringMetrics } from '../../metrics/metering.metrics';
import { PriceRepository, type PriceRow } from '../../repositories/price.repository';
import { ReservationRepository } from '../../repositories/reservation.repository';
import { SpendRepository } from '../../repositories/spend.repository';

/** A model, as a price is looked up for it (GET /internal/v1/prices/current). */
export class PriceQuery {
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  provider!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  model!: string;
}

/**
 * The gateway asks for a lease sized for `calls` calls like this one (POST /internal/v1/leases): it
 * then grants those calls itself, without a round trip each.
 */
export class GrantLeaseCommand extends PriceQuery {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  userId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  teamId?: string;

  @IsInt()
  @Min(0)
  @Max(100_000_000)
  inputTokens!: number;

  @IsInt()
  @Min(0)
  @Max(100_000_000)
  maxOutputTokens!: number;

  /** How many such calls the lease should cover (it may cover fewer near a limit; at least one, or none is granted). */
  @IsInt()
  @Min(1)
  @Max(10_000)
  calls!: number;
}

export class CloseLeaseCommand {
  /** What the calls granted from the lease cost (calls still running at their worst case). */
  @IsUsdAmount(12)
  usedUsd!: string;
}

/** A model's price in effect now, per million tokens (decimal strings). */
export interface CurrentPrice {
  provider: string;
  model: string;
  priced: boolean;
  inputPerMtokUsd?: string;
  outputPerMtokUsd?: string;
  cachedInputPerMtokUsd?: string;
}

export type LeaseAnswer =
  | { granted: true; leaseId: string; amountUsd: string; expiresAt: string; limited: boolean; price: CurrentPrice }
  | { granted: false; reason: 'near_limit' | 'unpriced'; price: CurrentPrice };

const priceOf = (provider: string, model: string, row: PriceRow | undefined): CurrentPrice =>
  row
    ? {
        provider,
        model,
        priced: true,
        inputPerMtokUsd: fromPico(toPico(row.input_per_mtok_usd), 0),
        outputPerMtokUsd: fromPico(toPico(row.output_per_mtok_usd), 0),
        cachedInputPerMtokUsd: fromPico(toPico(row.cached_input_per_mtok_usd ?? row.input_per_mtok_usd), 0),
      }
    : { provider, model, priced: false };

/**
 * Budget leases (migration 0005): a slice of a user's budget held for one gateway, which grants its
 * calls from it locally and gives it back when done. The grant is decided like a call's reservation
 * (atomically, against every applicable hard limit), sized `calls` times the call's worst-case cost
 * but at most 1/BUDGET_LEASE_USER_HEADROOM_SHARE of the user's own budgets' headroom and
 * 1/BUDGET_LEASE_HEADROOM_SHARE of a team's or the platform's, and refused (granted: false,
 * near_limit) when that is less than one call: near a limit the gateway reserves per call, which is
 * exact. Usage records carrying the lease's id settle against it; closing it shrinks it to what its
 * calls used.
 */
@Injectable()
export class BudgetLeaseUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly config: MeteringConfig,
    private readonly prices: PriceRepository,
    private readonly reservations: ReservationRepository,
    private readonly spend: SpendRepository,
    private readonly metrics: MeteringMetrics,
  ) {}

  async price(query: PriceQuery): Promise<CurrentPrice> {
    const [row] = await this.prices.list(this.ctx.db, this.clock.now(), {
      provider: query.provider,
      model: query.model,
    });
    return priceOf(query.provider, query.model, row);
  }

  async grant(command: GrantLeaseCommand): Promise<LeaseAnswer> {
    const price = await this.price(command);
    if (!price.priced) {
      this.metrics.leases.inc({ outcome: 'unpriced' });
      return { granted: false, reason: 'unpriced', price };
    }
    // Pico-dollars: tokens x (USD per million tokens x 10^12) / 10^6, exact for prices of up to 6 decimals.
    const perCall =
      (BigInt(command.inputTokens) * toPico(price.inputPerMtokUsd!) +
        BigInt(command.maxOutputTokens) * toPico(price.outputPerMtokUsd!)) /
      1_000_000n;
    const want = perCall * BigInt(command.calls);
    const s = this.config.settings;
    const request = {
      requestId: `lease:${randomUUID()}`,
      userId: command.userId,
      teamId: command.teamId ?? '',
      wantUsd: fromPico(want > 0n ? want : 1n, 0),
      minUsd: fromPico(perCall, 0),
      share: s.BUDGET_LEASE_HEADROOM_SHARE,
      userShare: s.BUDGET_LEASE_USER_HEADROOM_SHARE,
    };
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const starts = this.config.calendar.periodsOf(now);
      const r = await this.reservations.grantLease(this.ctx.db, request, {
        now,
        ttlSeconds: s.RESERVATION_TTL_SECONDS,
        starts,
        synchronousCommit: s.RESERVATION_SYNCHRONOUS_COMMIT === 'on',
      });
      if (r.outcome === 'missing_counters') {
        if (attempt >= 3) throw new Error('spend counters could not be created');
        await this.spend.ensureCounters(this.ctx.db, request.userId, request.teamId, starts);
        continue;
      }
      if (r.outcome === 'denied') {
        this.metrics.leases.inc({ outcome: 'near_limit' });
        return { granted: false, reason: 'near_limit', price };
      }
      this.metrics.leases.inc({ outcome: 'granted' });
      return {
        granted: true,
        leaseId: r.reservation_id!,
        amountUsd: fromPico(toPico(r.amount_usd!), 2),
        expiresAt: r.expires_at!,
        limited: r.headroom_usd !== null,
        price,
      };
    }
  }

  async close(
    leaseId: string,
    command: CloseLeaseCommand,
  ): Promise<{ leaseId: string; amountUsd: string; releasedUsd: string }> {
    const id = leaseId.toLowerCase();
    const closed = await this.reservations.closeLease(
      this.ctx.db,
      id,
      command.usedUsd,
      this.config.settings.RESERVATION_SYNCHRONOUS_COMMIT === 'on',
    );
    if (!closed) {
      const existing = await this.reservations.get(this.ctx.db, id);
      if (!existing || existing.kind !== 'lease') throw ApiError.notFound('lease', id);
      // Expired (or released) already: it holds nothing any more.
      return { leaseId: id, amountUsd: fromPico(toPico(existing.amount_usd)), releasedUsd: '0.00' };
    }
    return {
      leaseId: id,
      amountUsd: fromPico(toPico(closed.amount_usd)),
      releasedUsd: fromPico(toPico(closed.released_usd)),
    };
  }
}
