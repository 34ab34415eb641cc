import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { UsageRecord } from '../domain/usage-record';

export interface UsageRow extends UsageRecord {
  /** occurred_at's calendar day in BUDGET_TIME_ZONE. */
  usageDay: string;
}

export interface InsertedUsage {
  request_id: string;
  /** Decimal string; null when no price was known for the model at the record's time. */
  cost: string | null;
  /** Unpriced only: the model has prices, none of them in effect at the record's time (it predates them). */
  price_later: boolean;
}

/** api_usage and usage_daily: the ingestion's writes, one statement per batch. */
@Injectable()
export class UsageRepository {
  /**
   * In one statement: inserts the records not seen before (by request_id), each priced in NUMERIC at
   * the model price in effect at its own time (cost NULL when none), and adds the inserted ones to
   * the daily aggregates (rows locked in key order). Returns the inserted records with their cost.
   */
  async insertBatch(tx: SqlExecutor, rows: UsageRow[]): Promise<InsertedUsage[]> {
    if (rows.length === 0) return [];
    // The rows travel as one text parameter, a line per record and a tab between fields, split by
    // string_to_array: cheaper on both sides than a JSON document (json_to_recordset) or one array
    // literal per column. Every text field is validated free of control characters (toUsageRecord),
    // so no field contains a tab or a newline.
    let tsv = '';
    for (const r of rows) {
      tsv +=
        `${r.requestId}\t${r.userId}\t${r.teamId}\t${r.agent}\t${r.command}\t${r.provider}\t${r.model}\t` +
        `${r.inputTokens}\t${r.outputTokens}\t${r.cachedInputTokens}\t${r.occurredAt.toISOString()}\t${r.usageDay}\t` +
        `${r.runId}\t${r.templateVersion}\t${r.reservationId ?? ''}\t${r.streamed ? 't' : 'f'}\t${r.eventId}\n`;
    }
    return tx.query<InsertedUsage>(
      `WITH r AS (
         SELECT f[1] AS request_id, f[2] AS user_id, f[3] AS team_id, f[4] AS agent_id, f[5] AS command,
                f[6] AS provider, f[7] AS model, f[8]::bigint AS tokens_input, f[9]::bigint AS tokens_output,
                f[10]::bigint AS cached_input_tokens, f[11]::timestamptz AS occurred_at, f[12]::date AS usage_day,
                f[13] AS run_id, f[14] AS template_version, nullif(f[15], '')::uuid AS reservation_id,
                f[16]::boolean AS streamed, f[17] AS event_id
           FROM unnest(string_to_array(rtrim($1, E'\\n'), E'\\n')) AS line,
                LATERAL string_to_array(line, E'\\t') AS f
       ),
       p AS (
         SELECT mp.id, mp.provider, mp.model, mp.input_per_mtok_usd, mp.output_per_mtok_usd, mp.cached_input_per_mtok_usd,
                mp.effective_from,
                coalesce(lead(mp.effective_from) OVER (PARTITION BY mp.provider, mp.model ORDER BY mp.effective_from),
                         'infinity') AS effective_until
           FROM model_prices mp
          WHERE (mp.provider, mp.model) IN (SELECT DISTINCT provider, model FROM r)
       ),
       ins AS (
         INSERT INTO api_usage (request_id, user_id, team_id, agent_id, command, provider, model, tokens_input,
                                tokens_output, cached_input_tokens, cost, priced, price_id, occurred_at, usage_day,
                                run_id, template_version, reservation_id, streamed, currency, event_id)
         SELECT r.request_id, r.user_id, r.team_id, r.agent_id, r.command, r.provider, r.model, r.tokens_input,
                r.tokens_output, r.cached_input_tokens,
                round(((r.tokens_input - r.cached_input_tokens) * p.input_per_mtok_usd
                       + r.cached_input_tokens * coalesce(p.cached_input_per_mtok_usd, p.input_per_mtok_usd)
                       + r.tokens_output * p.output_per_mtok_usd) / 1000000, 12),
                p.id IS NOT NULL, p.id, r.occurred_at, r.usage_day, r.run_id, r.template_version, r.reservation_id,
                r.streamed, 'USD', r.event_id
           FROM r
           LEFT JOIN p
             ON p.provider = r.provider AND p.model = r.model
            AND r.occurred_at >= p.effective_from AND r.occurred_at < p.effective_until
         ON CONFLICT (request_id) DO NOTHING
         RETURNING request_id, user_id, team_id, agent_id, provider, model, command, usage_day, tokens_input,
                   tokens_output, cached_input_tokens, cost
       ),
       daily AS (
         INSERT INTO usage_daily AS u (day, user_id, team_id, agent_id, provider, model, command, requests, tokens_input,
                                       tokens_output, cached_input_tokens, cost, unpriced_requests)
         SELECT usage_day, user_id, team_id, agent_id, provider, model, command, count(*), sum(tokens_input),
                sum(tokens_output), sum(cached_input_tokens), coalesce(sum(cost), 0), count(*) FILTER (WHERE cost IS NULL)
           FROM ins
          GROUP BY usage_day, user_id, team_id, agent_id, provider, model, command
          ORDER BY usage_day, user_id, team_id, agent_id, provider, model, command
         ON CONFLICT (day, user_id, team_id, agent_id, provider, model, command) DO UPDATE
           SET requests = u.requests + excluded.requests,
               tokens_input = u.tokens_input + excluded.tokens_input,
               tokens_output = u.tokens_output + excluded.tokens_output,
               cached_input_tokens = u.cached_input_tokens + excluded.cached_input_tokens,
               cost = u.cost + excluded.cost,
               unpriced_requests = u.unpriced_requests + excluded.unpriced_requests
       )
       SELECT ins.request_id, ins.cost::text AS cost,
              (ins.cost IS NULL AND EXISTS (SELECT 1 FROM p WHERE p.provider = ins.provider AND p.model = ins.model))
                AS price_later
         FROM ins`,
      [tsv],
    );
  }
}
