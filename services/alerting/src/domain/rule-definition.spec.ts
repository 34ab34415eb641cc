import { DEFAULT_RULES, defaultChannels, LEGACY_DEFAULT_RULES } from './default-rules';
import type { Value } from './expression/expression';
import { formatValue } from './template/message-template';
import {
  compileRule,
  parseWindow,
  RuleValidationError,
  type CompiledRule,
  type RuleDefinition,
} from './rule-definition';

const channels = new Set(['slack', 'email', 'pagerduty', 'ops-webhook']);

const base: RuleDefinition = {
  name: 'provider_down',
  kind: 'event',
  eventType: 'provider_health',
  condition: 'not healthy',
  entity: 'provider',
  resolveWhen: 'healthy',
  severity: 'critical',
  channels: ['pagerduty'],
  cooldownMinutes: 5,
  messageTemplate: 'Provider {provider} is down: {error}',
};

function rejection(patch: Partial<RuleDefinition>): RuleValidationError {
  try {
    compileRule({ ...base, ...patch }, channels);
  } catch (e) {
    if (e instanceof RuleValidationError) return e;
    throw e;
  }
  throw new Error('expected the rule to be rejected');
}

describe('rule definitions', () => {
  it('compiles the seeded defaults (six from the seed and the platform ones)', () => {
    const names = DEFAULT_RULES.map((r) => r.name);
    for (const n of [
      'high_error_rate',
      'workflow_failed',
      'high_cost',
      'platform_down',
      'low_quality',
      'db_connection_pool_exhausted',
      'budget_hard_limit_reached',
      'unknown_model_priced',
      'dlq_receiving_messages',
    ])
      expect(names).toContain(n);
    const seeded = new Set(defaultChannels({}).map((c) => c.name));
    for (const r of DEFAULT_RULES) expect(() => compileRule(r, seeded)).not.toThrow();
    expect(DEFAULT_RULES.find((r) => r.name === 'workflow_failed')?.cooldownMinutes).toBe(0);
    // The versions they replace still compile (the migration compares against them).
    for (const r of LEGACY_DEFAULT_RULES) expect(() => compileRule(r, seeded)).not.toThrow();
  });

  const seededRule = (name: string) =>
    compileRule(
      DEFAULT_RULES.find((r) => r.name === name)!,
      new Set(defaultChannels({}).map((c) => c.name)),
    );
  const render = (rule: CompiledRule, fields: Record<string, Value>) => {
    const entity = formatValue(rule.entity!.evaluate(fields));
    return {
      fires: rule.condition.test(fields),
      entity,
      message: rule.template.render({ ...fields, entity }),
    };
  };

  it('high_cost fires on the priced record that takes the day above $100, per day, comparing decimals exactly', () => {
    const rule = seededRule('high_cost');
    expect(rule.eventType).toBe('usage_priced');
    expect(rule.stateful).toBe(false);
    // The entity is the day; the cooldown outlasts any day (25 h with a DST change).
    expect(rule.cooldownSeconds).toBeGreaterThan(25 * 3600);
    const day = (spend: string | null, usage_day = '2025-03-14') =>
      render(rule, { global_spend_day_usd: spend, usage_day });
    expect(day('99.99').fires).toBe(false);
    expect(day('100').fires).toBe(false);
    expect(day('100.000').fires).toBe(false);
    expect(day('100.000001').fires).toBe(true);
    expect(day('100.01')).toEqual({
      fires: true,
      entity: '2025-03-14',
      message: '💰 High cost alert: $100.01 spent on 2025-03-14',
    });
    expect(day('1234.005').message).toBe('💰 High cost alert: $1234.01 spent on 2025-03-14');
    expect(day('250', '2025-03-15').entity).toBe('2025-03-15');
    expect(day(null).fires).toBe(false);
  });

  it('unknown_model_priced fires on an unpriced record, per provider/model, naming the reason', () => {
    const rule = seededRule('unknown_model_priced');
    const r = render(rule, { priced: false, provider: 'acme', model: 'mystery-1', unpriced_reason: 'unknown model' });
    expect(r).toEqual({
      fires: true,
      entity: 'acme/mystery-1',
      message: '❓ Unpriced model acme/mystery-1 (unknown model): its usage counts as $0 until a price is added',
    });
    expect(render(rule, { priced: true, provider: 'openai', model: 'gpt-4o', unpriced_reason: '' }).fires).toBe(false);
  });

  it('dlq_receiving_messages fires per source topic and service, naming them and the reason', () => {
    const rule = seededRule('dlq_receiving_messages');
    expect(rule.stateful).toBe(false);
    expect(rule.cooldownSeconds).toBe(15 * 60);
    const r = render(rule, {
      topic: 'hishamos.tasks.requested.v1',
      dlq_topic: 'hishamos.tasks.requested.v1.dlq',
      service: 'orchestrator',
      reason: 'payload is not a valid TaskRequested',
      count: 1,
    });
    expect(r).toEqual({
      fires: true,
      entity: 'hishamos.tasks.requested.v1 (orchestrator)',
      message:
        '📬 DLQ receiving messages: orchestrator moved a record from hishamos.tasks.requested.v1 to hishamos.tasks.requested.v1.dlq: payload is not a valid TaskRequested',
    });
  });

  it('compiles an event rule with resolve and a metric rule', () => {
    const r = compileRule(base, channels);
    expect(r.stateful).toBe(true);
    expect(r.cooldownSeconds).toBe(300);
    const m = compileRule(
      {
        name: 'p95_latency',
        kind: 'metric',
        eventType: 'provider_health',
        condition: 'true',
        entity: 'provider',
        metric: {
          aggregate: 'percentile',
          percentile: 95,
          value: 'latency_ms',
          window: '10m',
          comparator: '>',
          threshold: 2000,
        },
        severity: 'warning',
        channels: ['slack'],
        cooldownMinutes: 0.5,
        messageTemplate: 'p95 of {entity} is {value:d} ms over {window} (threshold {threshold})',
      },
      channels,
    );
    expect(m.metric).toMatchObject({ windowSeconds: 600, threshold: '2000', minSamples: 1 });
    expect(m.cooldownSeconds).toBe(30);
  });

  it('rejects an invalid expression, naming the field and the position', () => {
    const e = rejection({ condition: 'not healthy and (' });
    expect(e.field).toBe('condition');
    expect(e.code).toBe('invalid_expression');
    expect(e.position).toBe(17);
    expect(e.message).toMatch(/^condition: .* at position 17$/);
    expect(rejection({ resolveWhen: 'healthy ==' }).field).toBe('resolveWhen');
    expect(rejection({ entity: 'providr' }).reason).toMatch(/unknown field 'providr'/);
  });

  it('rejects an unknown channel', () => {
    const e = rejection({ channels: ['pagerduty', 'teams'] });
    expect(e.field).toBe('channels[1]');
    expect(e.code).toBe('unknown_channel');
    expect(e.reason).toMatch(/unknown channel 'teams'/);
    expect(rejection({ channels: [] }).field).toBe('channels');
  });

  it('rejects a template naming a missing field', () => {
    const e = rejection({ messageTemplate: 'Provider {provider} down since {since}' });
    expect(e.field).toBe('messageTemplate');
    expect(e.code).toBe('invalid_template');
    expect(e.reason).toMatch(/field 'since' is not a field of provider_health events/);
    expect(e.position).toBe(32);
  });

  it('checks metric rules', () => {
    const metric = (m: object) =>
      rejection({
        kind: 'metric',
        resolveWhen: null,
        metric: { aggregate: 'avg', value: 'latency_ms', window: '5m', comparator: '>', threshold: 1, ...m } as never,
        messageTemplate: '{value}',
      });
    expect(metric({ window: '5 minutes' }).field).toBe('metric.window');
    expect(metric({ aggregate: 'median' }).field).toBe('metric.aggregate');
    expect(metric({ threshold: 'lots' }).field).toBe('metric.threshold');
    expect(metric({ value: 'latency_ms +' }).field).toBe('metric.value');
    expect(metric({ aggregate: 'percentile' }).field).toBe('metric.percentile');
    expect(metric({ aggregate: 'count' }).field).toBe('metric.value');
    expect(metric({ as: 'value' }).field).toBe('metric.as');
    expect(rejection({ kind: 'metric', metric: null }).field).toBe('resolveWhen');
    expect(rejection({ kind: 'metric', resolveWhen: null, metric: null }).field).toBe('metric');
    // A metric rule's template names the aggregate, not the events' fields.
    const t = rejection({
      kind: 'metric',
      resolveWhen: null,
      metric: { aggregate: 'count', window: '5m', comparator: '>', threshold: 1 },
      messageTemplate: '{provider} x',
    });
    expect(t.field).toBe('messageTemplate');
  });

  it('checks names, severities, event types and cooldowns', () => {
    expect(rejection({ name: 'Bad Name' }).field).toBe('name');
    expect(rejection({ eventType: 'tweets' }).field).toBe('eventType');
    expect(rejection({ severity: 'fatal' as never }).field).toBe('severity');
    expect(rejection({ cooldownMinutes: -1 }).field).toBe('cooldownMinutes');
  });

  it('parses windows', () => {
    expect(parseWindow('30s')).toEqual({ seconds: 30, calendarDay: false });
    expect(parseWindow('2h')).toEqual({ seconds: 7200, calendarDay: false });
    expect(parseWindow('today')).toEqual({ seconds: 86400, calendarDay: true });
    expect(parseWindow('5s')).toBeUndefined();
    expect(parseWindow('40d')).toBeUndefined();
    expect(parseWindow('1w')).toBeUndefined();
  });
});
