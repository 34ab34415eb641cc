import { create } from '@bufbuild/protobuf';
import {
  BudgetPeriod,
  BudgetScope,
  BudgetThreshold,
  BudgetThresholdCrossedSchema,
  CircuitState,
  ProviderHealthSchema,
  QualityScoredSchema,
  Topics,
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
});
