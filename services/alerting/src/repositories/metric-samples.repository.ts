import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { CompiledMetric } from '../domain/rule-definition';

export interface Sample {
  ruleId: string;
  entity: string;
  /** A decimal string (exact; money stays NUMERIC). */
  value: string;
}

export interface AggregateResult {
  samples: number;
  /** The aggregate as a decimal string; null without samples. */
  value: string | null;
  breached: boolean;
}

/** Whitelisted SQL for each aggregate and comparator: nothing from a rule is ever spliced into SQL but these. */
const AGGREGATE_SQL: Record<CompiledMetric['aggregate'], string> = {
  count: 'count(*)::numeric',
  rate: 'avg(value)',
  sum: 'sum(value)',
  avg: 'avg(value)',
  min: 'min(value)',
  max: 'max(value)',
  percentile: 'percentile_cont($4::float8) WITHIN GROUP (ORDER BY value::float8)::numeric',
};
const COMPARATOR_SQL: Record<CompiledMetric['comparator'], string> = {
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
  '==': '=',
  '!=': '<>',
};

/** The window's start; `$n` holds the window in seconds, 0 for the current UTC day. */
function windowStart(n: number): string {
  return `(CASE WHEN $${n}::int = 0 THEN (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
    ELSE now() - $${n}::int * interval '1 second' END)`;
}

function windowParam(metric: CompiledMetric): number {
  return metric.calendarDay ? 0 : metric.windowSeconds;
}

@Injectable()
export class MetricSamplesRepository {
  async insertMany(tx: SqlExecutor, samples: Sample[]): Promise<void> {
    if (samples.length === 0) return;
    await tx.query(
      `INSERT INTO metric_samples (rule_id, entity, value)
       SELECT r, e, v::numeric FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(r, e, v)`,
      [samples.map((s) => s.ruleId), samples.map((s) => s.entity), samples.map((s) => s.value)],
    );
  }

  /** The aggregate over the rule's window for one entity, and whether it breaches the threshold. */
  async aggregate(tx: SqlExecutor, ruleId: string, entity: string, metric: CompiledMetric): Promise<AggregateResult> {
    const agg = AGGREGATE_SQL[metric.aggregate];
    const op = COMPARATOR_SQL[metric.comparator];
    const params: unknown[] = [ruleId, entity, windowParam(metric)];
    if (metric.aggregate === 'percentile') params.push((metric.percentile ?? 50) / 100);
    params.push(metric.threshold);
    const t = `$${params.length}`;
    const [row] = await tx.query<{ samples: number; value: string | null; breached: boolean | null }>(
      `SELECT count(*)::int AS samples, (${agg})::text AS value, ((${agg}) ${op} ${t}::numeric) AS breached
       FROM metric_samples WHERE rule_id = $1 AND entity = $2 AND at > ${windowStart(3)}`,
      params,
    );
    return { samples: Number(row?.samples ?? 0), value: row?.value ?? null, breached: row?.breached === true };
  }

  /** Entities with samples in the rule's window. */
  async entities(ex: SqlExecutor, ruleId: string, metric: CompiledMetric): Promise<string[]> {
    const rows = await ex.query<{ entity: string }>(
      `SELECT DISTINCT entity FROM metric_samples WHERE rule_id = $1 AND at > ${windowStart(2)}`,
      [ruleId, windowParam(metric)],
    );
    return rows.map((r) => r.entity);
  }

  /** Drops a rule's samples older than its window (plus a margin). */
  async prune(ex: SqlExecutor, ruleId: string, keepSeconds: number): Promise<number> {
    const r = await ex.run(`DELETE FROM metric_samples WHERE rule_id = $1 AND at < now() - $2 * interval '1 second'`, [
      ruleId,
      keepSeconds,
    ]);
    return r.rowCount;
  }

  async deleteForRule(ex: SqlExecutor, ruleId: string): Promise<void> {
    await ex.query(`DELETE FROM metric_samples WHERE rule_id = $1`, [ruleId]);
  }

  /** Samples of rules that no longer count them (disabled or older than any window). */
  async pruneOlderThan(ex: SqlExecutor, seconds: number): Promise<number> {
    const r = await ex.run(`DELETE FROM metric_samples WHERE at < now() - $1 * interval '1 second'`, [seconds]);
    return r.rowCount;
  }
}
