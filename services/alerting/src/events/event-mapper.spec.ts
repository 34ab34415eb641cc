import { create } from '@bufbuild/protobuf';
import {
  BudgetPeriod,
  BudgetScope,
  BudgetThreshold,
  BudgetThresholdCrossedSchema,
  CircuitState,
  DeadLetteredSchema,
  ProviderHealthSchema,
  QualityScoredSchema,
  Topics,
  UsagePricedSchema,
  UsageRecordedSchema,
  WorkflowEventKind,
  WorkflowEventSchema,
  type Envelope,
  type Topic,
} from '@hishamos/contracts';
import { NonRetryableError } from '@hishamos/messaging';
import { toAlertEvent, type RuleTopic } from './event-mapper';

function envelope<T extends RuleTopic>(topic: T, payload: unknown): Envelope<T> {
  return {
    topic,
    key: 'k',
    payload: payload as Envelope<T>['payload'],
    headers: {},
    attributes: { id: 'e-1', source: 'hishamos/test', type: 't', specversion: '1.0', time: '', contentType: '' },
  } as Envelope<T>;
}

const map = <T extends Topic & RuleTopic>(topic: T, payload: unknown) => toAlertEvent(envelope(topic, payload));

describe('event mapper', () => {
  it('maps workflow events with enum names and the event id', () => {
    const e = map(
      Topics.WorkflowProgressed,
      create(WorkflowEventSchema, {
        runId: 'r1',
        workflowName: 'w',
        kind: WorkflowEventKind.STEP_WAITING_APPROVAL,
        outputs: { a: 1 },
      }),
    );
    expect(e).toMatchObject({
      type: 'workflow',
      id: 'hishamos/test:e-1',
      fields: { run_id: 'r1', workflow_name: 'w', kind: 'STEP_WAITING_APPROVAL', outputs: { a: 1 }, at: null },
    });
  });

  it('maps usage with token totals, and cost/unpriced as null until producers send them', () => {
    const e = map(
      Topics.UsageRecorded,
      create(UsageRecordedSchema, { provider: 'openai', model: 'gpt', usage: { inputTokens: 10n, outputTokens: 5n } }),
    );
    expect(e.fields).toMatchObject({
      input_tokens: 10,
      output_tokens: 5,
      total_tokens: 15,
      cost_usd: null,
      unpriced: null,
    });
    const priced = map(Topics.UsageRecorded, { ...create(UsageRecordedSchema, {}), costUsd: '1.25', unpriced: false });
    expect(priced.fields).toMatchObject({ cost_usd: '1.25', unpriced: false });
    expect(() => map(Topics.UsageRecorded, { ...create(UsageRecordedSchema, {}), costUsd: 'NaN' })).toThrow(
      NonRetryableError,
    );
  });

  it('maps budget and provider events; rejects bad input as non-retryable', () => {
    const b = map(
      Topics.BudgetThresholdCrossed,
      create(BudgetThresholdCrossedSchema, {
        scope: BudgetScope.USER,
        period: BudgetPeriod.MONTH,
        threshold: BudgetThreshold.SOFT,
        spendUsd: '80.00',
        limitUsd: '100',
      }),
    );
    expect(b.fields).toMatchObject({
      scope: 'USER',
      period: 'MONTH',
      threshold: 'SOFT',
      spend_usd: '80.00',
      limit_usd: '100',
    });
    expect(() => map(Topics.BudgetThresholdCrossed, create(BudgetThresholdCrossedSchema, { spendUsd: '1e9' }))).toThrow(
      /spend_usd must be a decimal/,
    );
    const p = map(
      Topics.ProviderHealth,
      create(ProviderHealthSchema, { provider: 'openai', state: CircuitState.HALF_OPEN, latencyMs: 12n }),
    );
    expect(p.fields).toMatchObject({ provider: 'openai', state: 'HALF_OPEN', healthy: false, latency_ms: 12 });
    expect(() => map(Topics.ProviderHealth, create(ProviderHealthSchema, {}))).toThrow(NonRetryableError);
    expect(() => map(Topics.QualityScored, create(QualityScoredSchema, { total: 11 }))).toThrow(
      /total must be a score/,
    );
  });

  it('maps priced usage: cost, priced flag and reason, the day and its spend (decimal strings)', () => {
    const e = map(
      Topics.UsagePriced,
      create(UsagePricedSchema, {
        requestId: 'req-1',
        provider: 'openai',
        model: 'gpt-4o',
        usage: { inputTokens: 100n, outputTokens: 20n },
        costUsd: '0.0125',
        priced: true,
        usageDay: '2025-03-14',
        userSpendDayUsd: '3.5',
        globalSpendDayUsd: '100.000001',
      }),
    );
    expect(e.type).toBe('usage_priced');
    expect(e.fields).toMatchObject({
      request_id: 'req-1',
      provider: 'openai',
      model: 'gpt-4o',
      total_tokens: 120,
      cost_usd: '0.0125',
      priced: true,
      unpriced_reason: '',
      usage_day: '2025-03-14',
      user_spend_day_usd: '3.5',
      global_spend_day_usd: '100.000001',
    });
    const unpriced = map(
      Topics.UsagePriced,
      create(UsagePricedSchema, { provider: 'acme', model: 'm', costUsd: '0', priced: false, usageDay: '2025-03-14' }),
    );
    expect(unpriced.fields).toMatchObject({ priced: false, unpriced_reason: 'no price in effect', cost_usd: '0' });
    expect(() =>
      map(Topics.UsagePriced, create(UsagePricedSchema, { usageDay: '2025-03-14', globalSpendDayUsd: '1e3' })),
    ).toThrow(/global_spend_day_usd must be a decimal/);
    expect(() => map(Topics.UsagePriced, create(UsagePricedSchema, { usageDay: 'today' }))).toThrow(
      /usage_day must be YYYY-MM-DD/,
    );
  });

  it('maps dead-lettered records to the dlq event type; a record without its topic is rejected', () => {
    const e = map(
      Topics.DeadLettered,
      create(DeadLetteredSchema, {
        topic: 'hishamos.tasks.requested.v1',
        dlqTopic: 'hishamos.tasks.requested.v1.dlq',
        service: 'orchestrator',
        consumerGroup: 'hishamos.orchestrator.hishamos.tasks.requested.v1',
        error: 'payload is not a valid TaskRequested',
        attempts: 1,
        recordKey: 'k-1',
        eventId: 'ce-1',
        eventType: 'hishamos.tasks.requested.v1',
        at: { seconds: 1700000000n, nanos: 0 },
      }),
    );
    expect(e).toMatchObject({
      type: 'dlq',
      fields: {
        topic: 'hishamos.tasks.requested.v1',
        dlq_topic: 'hishamos.tasks.requested.v1.dlq',
        service: 'orchestrator',
        group: 'hishamos.orchestrator.hishamos.tasks.requested.v1',
        reason: 'payload is not a valid TaskRequested',
        attempts: 1,
        record_key: 'k-1',
        record_event_id: 'ce-1',
        record_event_type: 'hishamos.tasks.requested.v1',
        at: '2023-11-14T22:13:20.000Z',
        count: 1,
      },
    });
    expect(map(Topics.DeadLettered, create(DeadLetteredSchema, { topic: 't' })).fields).toMatchObject({
      dlq_topic: 't.dlq',
      reason: 'no reason recorded',
    });
    expect(() => map(Topics.DeadLettered, create(DeadLetteredSchema, {}))).toThrow(/topic is required/);
  });
});
