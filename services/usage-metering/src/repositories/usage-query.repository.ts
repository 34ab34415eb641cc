import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';

export const USAGE_DIMENSIONS = ['user', 'team', 'agent', 'provider', 'model', 'command', 'day'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

const COLUMN: Record<UsageDimension, string> = {
  user: 'user_id',
  team: 'team_id',
  agent: 'agent_id',
  provider: 'provider',
  model: 'model',
  command: 'command',
  day: 'day',
};

export interface UsageFilter {
  from: string;
  to: string;
  userId?: string;
  teamId?: string;
  agent?: string;
  provider?: string;
  model?: string;
  command?: string;
}

export interface UsageTotalsRow {
  requests: string;
  tokens_input: string;
  tokens_output: string;
  cached_input_tokens: string;
  cost: string;
  unpriced_requests: string;
  [dimension: string]: string;
}

export interface UsageRecordRow {
  id: string;
  request_id: string;
  user_id: string;
  team_id: string;
  agent_id: string;
  command: string;
  provider: string;
  model: string;
  tokens_input: string;
  tokens_output: string;
  cached_input_tokens: string;
  cost: string | null;
  priced: boolean;
  run_id: string;
  template_version: string;
  reservation_id: string | null;
  occurred_at: Date;
  usage_day: string;
  created_at: Date;
}

const SUMS = `sum(requests)::text AS requests, sum(tokens_input)::text AS tokens_input,
  sum(tokens_output)::text AS tokens_output, sum(cached_input_tokens)::text AS cached_input_tokens,
  sum(cost)::text AS cost, sum(unpriced_requests)::text AS unpriced_requests`;

function where(f: UsageFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [f.from, f.to];
  const parts = ['day >= $1::date', 'day <= $2::date'];
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    params.push(value);
    parts.push(`${column} = $${params.length}`);
  };
  add('user_id', f.userId);
  add('team_id', f.teamId);
  add('agent_id', f.agent);
  add('provider', f.provider);
  add('model', f.model);
  add('command', f.command);
  return { sql: parts.join(' AND '), params };
}

/** Read side for the Token Management screen: aggregates from usage_daily, records from api_usage. */
@Injectable()
export class UsageQueryRepository {
  /** Totals grouped by the given dimensions (whitelisted names), costliest first. */
  async aggregate(
    db: SqlExecutor,
    filter: UsageFilter,
    groupBy: UsageDimension[],
    limit: number,
  ): Promise<UsageTotalsRow[]> {
    const w = where(filter);
    const dims = groupBy.map((d) => `${COLUMN[d]}${d === 'day' ? '::text' : ''} AS "${d}"`);
    const order = groupBy.includes('day') ? `"day", sum(cost) DESC` : 'sum(cost) DESC NULLS LAST';
    const sql = `SELECT ${[...dims, SUMS].join(', ')} FROM usage_daily WHERE ${w.sql}
      ${groupBy.length ? `GROUP BY ${groupBy.map((_, i) => i + 1).join(', ')} ORDER BY ${order}` : ''}
      LIMIT ${Math.floor(limit)}`;
    return db.query<UsageTotalsRow>(sql, w.params);
  }

  /** The biggest spenders over a range, by one dimension. */
  async top(db: SqlExecutor, filter: UsageFilter, by: UsageDimension, limit: number): Promise<UsageTotalsRow[]> {
    return this.aggregate(db, filter, [by], limit);
  }

  /** Raw usage records, newest first, with keyset paging on (occurred_at, id). */
  async records(
    db: SqlExecutor,
    f: { since: Date; until: Date; userId?: string; agent?: string; model?: string; unpricedOnly?: boolean },
    limit: number,
    before?: { occurredAt: string; id: string },
  ): Promise<UsageRecordRow[]> {
    return db.query<UsageRecordRow>(
      `SELECT id, request_id, user_id, team_id, agent_id, command, provider, model, tokens_input::text AS tokens_input,
              tokens_output::text AS tokens_output, cached_input_tokens::text AS cached_input_tokens, cost::text AS cost,
              priced, run_id, template_version, reservation_id, occurred_at, usage_day::text AS usage_day, created_at
         FROM api_usage
        WHERE occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
          AND ($3::text IS NULL OR user_id = $3) AND ($4::text IS NULL OR agent_id = $4)
          AND ($5::text IS NULL OR model = $5) AND (NOT $6::boolean OR NOT priced)
          AND ($7::timestamptz IS NULL OR (occurred_at, id) < ($7::timestamptz, $8::uuid))
        ORDER BY occurred_at DESC, id DESC
        LIMIT $9`,
      [
        f.since.toISOString(),
        f.until.toISOString(),
        f.userId ?? null,
        f.agent ?? null,
        f.model ?? null,
        f.unpricedOnly ?? false,
        before?.occurredAt ?? null,
        before?.id ?? null,
        limit,
      ],
    );
  }
}
