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
    const json = JSON.stringify(
      rows.map((r) => ({
        request_id: r.requestId,
        user_id: r.userId,
        team_id: r.teamId,
        agent_id: r.agent,
        command: r.command,
        provider: r.provider,
        model: r.model,
        tokens_input: r.inputTokens,
        tokens_output: r.outputTokens,
        cached_input_tokens: r.cachedInputTokens,
        occurred_at: r.occurredAt.toISOString(),
        usage_day: r.usageDay,
        run_id: r.runId,
        template_version: r.templateVersion,
        reservation_id: r.reservationId,
        streamed: r.streamed,
        event_id: r.eventId,
      })),
    );
    return tx.query<InsertedUsage>(
      `WITH r AS (
         SELECT * FROM json_to_recordset($1::json) AS r (
           request_id text, user_id text, team_id text, agent_id text, command text, provider text, model text,
           tokens_input bigint, tokens_output bigint, cached_input_tokens bigint, occurred_at timestamptz,
           usage_day date, run_id text, template_version text, reservation_id uuid, streamed boolean, event_id text)
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
       SELECT request_id, cost::text AS cost FROM ins`,
      [json],
    );
  }
}
