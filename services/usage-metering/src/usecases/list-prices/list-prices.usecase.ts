import { Inject, Injectable } from '@nestjs/common';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { Transform } from 'class-transformer';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CLOCK, type Clock } from '../../adapters/clock';
import { usd } from '../../domain/money';
import { PriceRepository, type PriceRow } from '../../repositories/price.repository';

export class ListPricesCommand {
  @IsOptional()
  @IsString()
  @MaxLength(50)
  provider?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  /** Every version instead of the prices in effect now. */
  @IsOptional()
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  @IsBoolean()
  history?: boolean;
}

export interface PriceView {
  id: string;
  provider: string;
  model: string;
  inputPerMTokUsd: string;
  outputPerMTokUsd: string;
  cachedInputPerMTokUsd: string | null;
  effectiveFrom: string;
  setBy: string | null;
}

export function priceView(r: PriceRow): PriceView {
  return {
    id: r.id,
    provider: r.provider,
    model: r.model,
    inputPerMTokUsd: usd(r.input_per_mtok_usd)!,
    outputPerMTokUsd: usd(r.output_per_mtok_usd)!,
    cachedInputPerMTokUsd: usd(r.cached_input_per_mtok_usd),
    effectiveFrom: new Date(r.effective_from).toISOString(),
    setBy: r.created_by,
  };
}

/** The model price table (current prices, or every version), and the models used without a price. */
@Injectable()
export class ListPricesUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly prices: PriceRepository,
  ) {}

  async execute(
    command: ListPricesCommand,
  ): Promise<{ prices: PriceView[]; unpricedModels: { provider: string; model: string; records: number }[] }> {
    const [rows, unpriced] = await Promise.all([
      this.prices.list(this.ctx.db, this.clock.now(), command),
      this.prices.unpricedModels(this.ctx.db),
    ]);
    return {
      prices: rows.map(priceView),
      unpricedModels: unpriced.map((u) => ({ provider: u.provider, model: u.model, records: Number(u.records) })),
    };
  }
}
