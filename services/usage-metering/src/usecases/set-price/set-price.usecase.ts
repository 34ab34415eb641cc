import { Inject, Injectable } from '@nestjs/common';
import { IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { normalizeUsd } from '../../domain/money';
import { IsUsdAmount } from '../../domain/usd-amount.validator';
import { PriceRepository } from '../../repositories/price.repository';
import { priceView, type PriceView } from '../list-prices/list-prices.usecase';

/** PUT /v1/prices: a model's price per million tokens from `effectiveFrom` (default now). */
export class SetPriceCommand {
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  @Matches(/^[a-z0-9][a-z0-9._-]*$/, { message: 'provider must be a provider id such as openai, anthropic, gemini' })
  provider!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(/^\S+$/, { message: 'model must not contain spaces' })
  model!: string;

  @IsUsdAmount()
  inputPerMTokUsd!: string | number;

  @IsUsdAmount()
  outputPerMTokUsd!: string | number;

  /** Absent: cached input tokens cost the input price. */
  @IsOptional()
  @IsUsdAmount()
  cachedInputPerMTokUsd?: string | number | null;

  @IsOptional()
  @IsISO8601({ strict: true })
  effectiveFrom?: string;

  declare setBy?: string;
}

/**
 * Adds a price version. Records are priced at the version in effect at their own time, so a new
 * price never rewrites the cost of usage already recorded.
 */
@Injectable()
export class SetPriceUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly prices: PriceRepository,
  ) {}

  async execute(command: SetPriceCommand): Promise<PriceView> {
    const row = await this.prices.upsert(this.ctx.db, {
      provider: command.provider,
      model: command.model,
      input: normalizeUsd(command.inputPerMTokUsd),
      output: normalizeUsd(command.outputPerMTokUsd),
      cachedInput:
        command.cachedInputPerMTokUsd === undefined || command.cachedInputPerMTokUsd === null
          ? null
          : normalizeUsd(command.cachedInputPerMTokUsd),
      effectiveFrom: command.effectiveFrom ? new Date(command.effectiveFrom) : this.clock.now(),
      by: command.setBy ?? 'unknown',
    });
    return priceView(row);
  }
}
