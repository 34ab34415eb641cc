import { Inject, Injectable } from '@nestjs/common';
import type { Outbox } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { settingsOf, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AlertingMetrics } from '../alerting.metrics';
import type { AlertingSettings } from '../config/alerting.settings';
import { isDecimalString, numberToDecimal } from '../domain/decimal';
import type { Scope, Value } from '../domain/expression/expression';
import type { CompiledMetric, CompiledRule } from '../domain/rule-definition';
import type { AlertEvent } from '../events/event-mapper';
import { AlertStatesRepository } from '../repositories/alert-states.repository';
import { MetricSamplesRepository, type Sample } from '../repositories/metric-samples.repository';
import { AlertEngine, entityOf } from './alert-engine';
import { RuleCache } from './rule-cache';

export interface EvaluationSummary {
  rules: number;
  fired: number;
  notified: number;
  resolved: number;
  samples: number;
}

/** A metric rule's sample value for one event, as an exact decimal string; undefined when the event does not count. */
export function sampleValue(metric: CompiledMetric, scope: Scope): string | undefined {
  if (metric.aggregate === 'count') return '1';
  if (metric.aggregate === 'rate') return metric.value?.test(scope) ? '1' : '0';
  const v: Value = metric.value ? metric.value.evaluate(scope) : null;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    return numberToDecimal(v) ?? v.toFixed(12);
  }
  if (typeof v === 'string' && isDecimalString(v)) return v.trim();
  return undefined;
}

/** Evaluates events against the rules, and metric rules' windows, inside the caller's transaction. */
@Injectable()
export class RuleEvaluator {
  private readonly lastMetricEval = new Map<string, number>();
  private readonly minIntervalMs: number;

  constructor(
    @Inject(SERVICE_CONTEXT) ctx: ServiceContext,
    private readonly cache: RuleCache,
    private readonly engine: AlertEngine,
    private readonly samples: MetricSamplesRepository,
    private readonly states: AlertStatesRepository,
    private readonly metrics: AlertingMetrics,
  ) {
    this.minIntervalMs = settingsOf<AlertingSettings>(ctx).ALERTING_METRIC_EVAL_MIN_INTERVAL_MS;
  }

  /**
   * One event: event rules fire (or clear, with resolveWhen) for the entity it concerns; metric rules
   * record a sample and re-check their window for that entity (at most once per
   * ALERTING_METRIC_EVAL_MIN_INTERVAL_MS; the ticker covers the rest).
   */
  async evaluate(tx: SqlExecutor, outbox: Outbox, event: AlertEvent, source = 'event'): Promise<EvaluationSummary> {
    const snapshot = await this.cache.current(tx);
    const rules = snapshot.byType.get(event.type) ?? [];
    const summary: EvaluationSummary = { rules: rules.length, fired: 0, notified: 0, resolved: 0, samples: 0 };
    this.metrics.eventEvaluated(event.type);
    if (rules.length === 0) return summary;
    const scope: Scope = { ...event.fields, event_id: event.id, event_type: event.type };
    const pendingSamples: Sample[] = [];
    const toCheck: [CompiledRule, string][] = [];
    for (const rule of rules) {
      const def = rule.definition;
      if (rule.definition.kind === 'event') {
        if (rule.condition.test(scope)) {
          const entity = entityOf(rule, scope);
          summary.fired++;
          const outcome = await this.engine.fire(
            tx,
            outbox,
            rule,
            entity,
            { ...scope, entity, rule_name: def.name, severity: def.severity },
            { source, sourceEventId: event.id },
          );
          if (outcome === 'notified') summary.notified++;
        } else if (rule.resolveWhen?.test(scope)) {
          const entity = entityOf(rule, scope);
          if ((await this.engine.clear(tx, outbox, rule, entity, { source, sourceEventId: event.id })) === 'resolved')
            summary.resolved++;
        }
        continue;
      }
      const metric = rule.metric!;
      if (!rule.condition.test(scope)) continue;
      const value = sampleValue(metric, scope);
      if (value === undefined) continue;
      const entity = entityOf(rule, scope);
      pendingSamples.push({ ruleId: rule.id, entity, value });
      toCheck.push([rule, entity]);
    }
    await this.samples.insertMany(tx, pendingSamples);
    summary.samples = pendingSamples.length;
    const now = Date.now();
    for (const [rule, entity] of toCheck) {
      const key = `${rule.id}|${entity}`;
      if (this.minIntervalMs > 0 && now - (this.lastMetricEval.get(key) ?? 0) < this.minIntervalMs) continue;
      this.lastMetricEval.set(key, now);
      const r = await this.evaluateMetric(tx, outbox, rule, entity, source, event.id);
      if (r === 'notified') summary.notified++;
      if (r === 'resolved') summary.resolved++;
    }
    if (this.lastMetricEval.size > 10_000) this.lastMetricEval.clear();
    return summary;
  }

  /** A metric rule's window for one entity: fire when it breaches the threshold (with enough samples), else clear. */
  async evaluateMetric(
    tx: SqlExecutor,
    outbox: Outbox,
    rule: CompiledRule,
    entity: string,
    source: string,
    sourceEventId?: string,
  ): Promise<string> {
    const metric = rule.metric!;
    const agg = await this.samples.aggregate(tx, rule.id, entity, metric);
    if (agg.samples >= metric.minSamples && agg.breached && agg.value !== null) {
      const value = Number(agg.value);
      const def = rule.definition;
      const scope: Scope = {
        value,
        ...(metric.as ? { [metric.as]: value } : {}),
        threshold: Number(metric.threshold),
        samples: agg.samples,
        window: metric.window,
        entity,
        rule_name: def.name,
        severity: def.severity,
      };
      return this.engine.fire(tx, outbox, rule, entity, scope, { source, sourceEventId, value: agg.value });
    }
    return this.engine.clear(tx, outbox, rule, entity, { source });
  }

  /** Every entity of a metric rule with samples in its window or an active alert (the ticker's pass). */
  async evaluateMetricRule(tx: SqlExecutor, outbox: Outbox, rule: CompiledRule): Promise<number> {
    const entities = new Set([
      ...(await this.samples.entities(tx, rule.id, rule.metric!)),
      ...(await this.states.activeEntities(tx, rule.id)),
    ]);
    let notified = 0;
    for (const entity of [...entities].sort()) {
      const r = await this.evaluateMetric(tx, outbox, rule, entity, 'tick');
      if (r === 'notified' || r === 'resolved') notified++;
    }
    return notified;
  }
}
