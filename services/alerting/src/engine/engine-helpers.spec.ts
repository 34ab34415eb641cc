import { compileRule } from '../domain/rule-definition';
import { dedupKeyOf, displayFields, entityOf } from './alert-engine';
import { retryDelayMs } from './delivery.worker';
import { sampleValue } from './rule-evaluator';

const rule = (over: object = {}) =>
  compileRule(
    {
      name: 'r1',
      kind: 'metric',
      eventType: 'usage',
      condition: 'true',
      metric: { aggregate: 'sum', value: 'cost_usd', window: 'today', comparator: '>', threshold: '100' },
      severity: 'warning',
      channels: ['c'],
      cooldownMinutes: 1,
      messageTemplate: '{value}',
      ...over,
    },
    new Set(['c']),
    'rule-id',
  );

describe('engine helpers', () => {
  it('keeps dedup keys stable per rule and entity, and within PagerDuty limits', () => {
    expect(dedupKeyOf('r', 'openai')).toBe('hishamos:r:openai');
    expect(dedupKeyOf('r', 'openai')).toBe(dedupKeyOf('r', 'openai'));
    const long = dedupKeyOf('r', 'x'.repeat(400));
    expect(long.length).toBeLessThanOrEqual(255);
    expect(long).toBe(dedupKeyOf('r', 'x'.repeat(400)));
  });

  it('names entities from the entity expression', () => {
    expect(entityOf(rule(), { model: 'm' })).toBe('global');
    expect(entityOf(rule({ entity: 'provider + "/" + model' }), { provider: 'p', model: 'm' })).toBe('p/m');
    expect(entityOf(rule({ entity: 'provider' }), {})).toBe('(none)');
  });

  it('samples exactly: decimal strings kept, booleans for rate, 1 for count', () => {
    const m = rule().metric!;
    expect(sampleValue(m, { cost_usd: '0.000123' })).toBe('0.000123');
    expect(sampleValue(m, { cost_usd: null })).toBeUndefined();
    expect(sampleValue(m, { cost_usd: 'abc' })).toBeUndefined();
    const rate = rule({
      metric: { aggregate: 'rate', value: 'streamed', window: '5m', comparator: '>', threshold: 0.5 },
    }).metric!;
    expect(sampleValue(rate, { streamed: true })).toBe('1');
    expect(sampleValue(rate, { streamed: false })).toBe('0');
    const count = rule({ metric: { aggregate: 'count', window: '5m', comparator: '>', threshold: 1 } }).metric!;
    expect(sampleValue(count, {})).toBe('1');
    const avg = rule({
      metric: { aggregate: 'avg', value: 'input_tokens / 3', window: '5m', comparator: '>', threshold: 1 },
    }).metric!;
    expect(sampleValue(avg, { input_tokens: 1 })).toBe('0.3333333333333333');
    expect(sampleValue(avg, { input_tokens: 1e-30 })).toBe('0.000000000000');
  });

  it('backs off exponentially, honours Retry-After, caps at the maximum', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 100, 1000))).toEqual([100, 200, 400, 800]);
    expect(retryDelayMs(6, 100, 1000)).toBe(1000);
    expect(retryDelayMs(1, 100, 1000, 700)).toBe(700);
    expect(retryDelayMs(1, 100, 1000, 60_000)).toBe(1000);
  });

  it('shows plain values and one level of maps as fields', () => {
    expect(
      displayFields({ a: 1, b: '', c: null, labels: { x: 'y', deep: { z: 1 } }, rule_name: 'r', list: [1] }),
    ).toEqual({
      a: '1',
      'labels.x': 'y',
    });
  });
});
