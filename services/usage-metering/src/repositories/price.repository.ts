import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';

export interface PriceRow {
  id: string;
  provider: string;
  model: string;
  input_per_mtok_usd: string;
  output_per_mtok_usd: string;
  cached_input_per_mtok_usd: string | null;
  effective_from: string;
  created_by: string | null;
}

const COLUMNS = `id::text AS id, provider, model, input_per_mtok_usd::text AS input_per_mtok_usd,
  output_per_mtok_usd::text AS output_per_mtok_usd, cached_input_per_mtok_usd::text AS cached_input_per_mtok_usd,
  effective_from, created_by`;

/** Model prices per million tokens, versioned by effective_from. */
@Injectable()
export class PriceRepository {
  /** The price in effect at `at` for each model (or every version with `history`). */
  async list(
    db: SqlExecutor,
    at: Date,
    filter: { provider?: string; model?: string; history?: boolean },
  ): Promise<PriceRow[]> {
    if (filter.history) {
      return db.query<PriceRow>(
        `SELECT ${COLUMNS} FROM model_prices
          WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR model = $2)
          ORDER BY provider, model, effective_from DESC`,
        [filter.provider ?? null, filter.model ?? null],
      );
    }
    return db.query<PriceRow>(
      `SELECT DISTINCT ON (provider, model) ${COLUMNS} FROM model_prices
        WHERE effective_from <= $1::timestamptz AND ($2::text IS NULL OR provider = $2) AND ($3::text IS NULL OR model = $3)
        ORDER BY provider, model, effective_from DESC`,
      [at.toISOString(), filter.provider ?? null, filter.model ?? null],
    );
  }

  /** Adds a price version (or corrects the one with the same effective_from). */
  async upsert(
    db: SqlExecutor,
    p: {
      provider: string;
      model: string;
      input: string;
      output: string;
      cachedInput: string | null;
      effectiveFrom: Date;
      by: string;
    },
  ): Promise<PriceRow> {
    const rows = await db.query<PriceRow>(
      `INSERT INTO model_prices AS m (provider, model, input_per_mtok_usd, output_per_mtok_usd, cached_input_per_mtok_usd,
                                      effective_from, created_by)
       VALUES ($1, $2, $3::numeric, $4::numeric, $5::numeric, $6::timestamptz, $7)
       ON CONFLICT (provider, model, effective_from) DO UPDATE
         SET input_per_mtok_usd = excluded.input_per_mtok_usd, output_per_mtok_usd = excluded.output_per_mtok_usd,
             cached_input_per_mtok_usd = excluded.cached_input_per_mtok_usd, created_by = excluded.created_by,
             created_at = now()
       RETURNING ${COLUMNS}`,
      [p.provider, p.model, p.input, p.output, p.cachedInput, p.effectiveFrom.toISOString(), p.by],
    );
    return rows[0];
  }

  /** Unpriced usage per model (records stored with tokens and no cost). */
  async unpricedModels(db: SqlExecutor): Promise<{ provider: string; model: string; records: string }[]> {
    return db.query(
      `SELECT provider, model, count(*)::text AS records FROM api_usage WHERE NOT priced GROUP BY provider, model
        ORDER BY count(*) DESC`,
    );
  }
}
