import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  BudgetPeriod,
  BudgetScope,
  BudgetThreshold,
  CircuitState,
  Topics,
  WorkflowEventKind,
  type Envelope,
  type Payload,
} from '@hishamos/contracts';
import { NonRetryableError } from '@hishamos/messaging';
import { isDecimalString } from '../domain/decimal';
import type { EventTypeName } from '../domain/event-types';
import type { Value } from '../domain/expression/expression';

/** An event as rules see it: a type and plain fields. */
export interface AlertEvent {
  type: EventTypeName;
  id: string;
  fields: Record<string, Value>;
}

/** The topics alerting evaluates rules on, and the event type each becomes. */
export const TOPIC_EVENT_TYPES = {
  [Topics.WorkflowProgressed]: 'workflow',
  [Topics.UsageRecorded]: 'usage',
  [Topics.BudgetThresholdCrossed]: 'budget',
  [Topics.ProviderHealth]: 'provider_health',
  [Topics.QualityScored]: 'quality',
  [Topics.UsagePriced]: 'usage_priced',
  [Topics.DeadLettered]: 'dlq',
} as const satisfies Partial<Record<string, EventTypeName>>;
export type RuleTopic = keyof typeof TOPIC_EVENT_TYPES;
export const RULE_TOPICS = Object.keys(TOPIC_EVENT_TYPES) as RuleTopic[];

/** An enum value's name without its prefix (WORKFLOW_EVENT_KIND_FAILED -> FAILED); '' for unspecified. */
function enumName(e: Record<number, string>, v: number): string {
  const name = e[v];
  return name && name !== 'UNSPECIFIED' ? name : '';
}

function iso(t: Timestamp | undefined): string | null {
  if (!t) return null;
  try {
    return timestampDate(t).toISOString();
  } catch {
    return null;
  }
}

function toJson(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const out: Record<string, Value> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = toJson(x);
    return out;
  }
  return null;
}

function decimalOrNull(field: string, v: string): string | null {
  if (!v) return null;
  if (!isDecimalString(v))
    throw new NonRetryableError(`${field} must be a decimal string, got '${String(v).slice(0, 40)}'`);
  return v.trim();
}

function score(field: string, v: number): number {
  if (!Number.isFinite(v) || v < 0 || v > 10)
    throw new NonRetryableError(`${field} must be a score from 0 to 10, got ${v}`);
  return v;
}

function required(field: string, v: string): string {
  if (!v) throw new NonRetryableError(`${field} is required`);
  return v;
}

const USAGE_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Token counts of a usage payload (never negative). */
function tokens(usage: Payload<typeof Topics.UsageRecorded>['usage']): Record<string, number> {
  const input = Number(usage?.inputTokens ?? 0n);
  const output = Number(usage?.outputTokens ?? 0n);
  const cached = Number(usage?.cachedInputTokens ?? 0n);
  if (input < 0 || output < 0 || cached < 0) throw new NonRetryableError('token counts must not be negative');
  return { input_tokens: input, output_tokens: output, cached_input_tokens: cached, total_tokens: input + output };
}

/** Optional fields a producer may add later (e.g. the priced cost of a usage record); null when absent. */
function optional(payload: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(payload, key) ? (payload as Record<string, unknown>)[key] : undefined;
}

const MAPPERS: { [T in RuleTopic]: (p: Payload<T>) => Record<string, Value> } = {
  [Topics.WorkflowProgressed]: (p) => ({
    detail: typeof optional(p, 'detail') === 'string' ? (optional(p, 'detail') as string) : '',
    run_id: p.runId,
    workflow_id: p.workflowId,
    workflow_name: p.workflowName,
    workflow_version: p.workflowVersion,
    kind: enumName(WorkflowEventKind, p.kind),
    step_id: p.stepId,
    attempt: p.attempt,
    user_id: p.userId,
    error: p.error,
    outputs: toJson(p.outputs ?? {}),
    at: iso(p.at),
    task_id: p.taskId,
  }),
  [Topics.UsageRecorded]: (p) => {
    const cost = optional(p, 'costUsd');
    const unpriced = optional(p, 'unpriced');
    return {
      request_id: p.requestId,
      user_id: p.userId,
      team_id: p.teamId,
      agent: p.agent,
      command: p.command,
      provider: p.provider,
      model: p.model,
      ...tokens(p.usage),
      occurred_at: iso(p.occurredAt),
      run_id: p.runId,
      reservation_id: p.reservationId,
      streamed: p.streamed,
      currency: p.currency,
      cost_usd: typeof cost === 'string' ? decimalOrNull('cost_usd', cost) : null,
      unpriced: typeof unpriced === 'boolean' ? unpriced : null,
    };
  },
  [Topics.UsagePriced]: (p) => {
    if (!USAGE_DAY.test(p.usageDay))
      throw new NonRetryableError(`usage_day must be YYYY-MM-DD, got '${p.usageDay.slice(0, 40)}'`);
    return {
      request_id: p.requestId,
      user_id: p.userId,
      team_id: p.teamId,
      agent: p.agent,
      command: p.command,
      provider: p.provider,
      model: p.model,
      ...tokens(p.usage),
      occurred_at: iso(p.occurredAt),
      run_id: p.runId,
      cost_usd: decimalOrNull('cost_usd', p.costUsd),
      priced: p.priced,
      // The producer always says why; an unpriced record without a reason still reads as one.
      unpriced_reason: p.priced ? p.unpricedReason : p.unpricedReason || 'no price in effect',
      usage_day: p.usageDay,
      user_spend_day_usd: decimalOrNull('user_spend_day_usd', p.userSpendDayUsd),
      global_spend_day_usd: decimalOrNull('global_spend_day_usd', p.globalSpendDayUsd),
    };
  },
  [Topics.DeadLettered]: (p) => ({
    service: p.service,
    topic: required('topic', p.topic),
    dlq_topic: p.dlqTopic || `${p.topic}.dlq`,
    group: p.consumerGroup,
    reason: p.error || 'no reason recorded',
    attempts: p.attempts,
    record_key: p.recordKey,
    record_event_id: p.eventId,
    record_event_type: p.eventType,
    at: iso(p.at),
    count: 1,
  }),
  [Topics.BudgetThresholdCrossed]: (p) => ({
    budget_id: p.budgetId,
    scope: enumName(BudgetScope, p.scope),
    scope_id: p.scopeId,
    period: enumName(BudgetPeriod, p.period),
    period_start: p.periodStart,
    threshold: enumName(BudgetThreshold, p.threshold),
    spend_usd: decimalOrNull('spend_usd', p.spendUsd),
    limit_usd: decimalOrNull('limit_usd', p.limitUsd),
  }),
  [Topics.ProviderHealth]: (p) => {
    if (!p.provider) throw new NonRetryableError('provider is required');
    return {
      provider: p.provider,
      state: enumName(CircuitState, p.state),
      healthy: p.healthy,
      error: p.error,
      latency_ms: Number(p.latencyMs),
      at: iso(p.at),
    };
  },
  [Topics.QualityScored]: (p) => ({
    execution_id: p.executionId,
    agent: p.agent,
    command: p.command,
    user_id: p.userId,
    total: score('total', p.total),
    completeness: score('completeness', p.completeness),
    clarity: score('clarity', p.clarity),
    correctness: score('correctness', p.correctness),
    depth: score('depth', p.depth),
    formatting: score('formatting', p.formatting),
    model_version: p.modelVersion,
  }),
};

/** Turns a consumed event into the fields rules see. Bad payloads throw NonRetryableError (to the DLQ with the reason). */
export function toAlertEvent<T extends RuleTopic>(envelope: Envelope<T>): AlertEvent {
  const mapper = MAPPERS[envelope.topic] as (p: Payload<T>) => Record<string, Value>;
  return {
    type: TOPIC_EVENT_TYPES[envelope.topic],
    id: `${envelope.attributes.source}:${envelope.attributes.id}`,
    fields: mapper(envelope.payload),
  };
}
