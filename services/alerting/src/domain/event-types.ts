import type { FieldCatalog, FieldSpec } from './expression/expression';

/** The kinds of events rules can match, with the fields their expressions and templates may use. */
export interface EventTypeSpec {
  readonly doc: string;
  /** Where events of this type come from. */
  readonly source: string;
  readonly fields: Readonly<Record<string, FieldSpec>>;
}

const s = (doc: string): FieldSpec => ({ type: 'string', doc });
const n = (doc: string): FieldSpec => ({ type: 'number', doc });
const b = (doc: string): FieldSpec => ({ type: 'boolean', doc });
const d = (doc: string): FieldSpec => ({ type: 'decimal', doc });
const m = (doc: string): FieldSpec => ({ type: 'map', doc });
const t = (doc: string): FieldSpec => ({ type: 'timestamp', doc });

/** Fields every event has. */
const COMMON: Record<string, FieldSpec> = {
  event_id: s('the event id (CloudEvents id, or generated for webhook alerts and signals)'),
  event_type: s('the event type'),
};

export const EVENT_TYPES = {
  workflow: {
    doc: 'a workflow run changed state (hishamos.workflows.progressed.v1)',
    source: 'hishamos.workflows.progressed.v1',
    fields: {
      run_id: s('workflow run id'),
      workflow_id: s('workflow definition id'),
      workflow_name: s('workflow name'),
      workflow_version: n('workflow version'),
      kind: s(
        'STARTED, STEP_STARTED, STEP_SUCCEEDED, STEP_FAILED, STEP_RETRYING, STEP_WAITING_APPROVAL, STEP_SKIPPED, COMPLETED, FAILED, CANCELLED',
      ),
      detail: s('human-readable detail: why a step was skipped or is retrying, an approval prompt, who cancelled'),
      step_id: s('step id (step events)'),
      attempt: n('attempt number (step events)'),
      user_id: s('the user who started the run'),
      error: s('error message (failed events)'),
      outputs: m('step outputs'),
      at: t('when it happened (ISO 8601)'),
      task_id: s('task id'),
    },
  },
  usage: {
    doc: "one provider call's metered usage (hishamos.usage.recorded.v1)",
    source: 'hishamos.usage.recorded.v1',
    fields: {
      request_id: s('request id'),
      user_id: s('user id'),
      team_id: s('team id'),
      agent: s('agent'),
      command: s('command'),
      provider: s('provider'),
      model: s('model'),
      input_tokens: n('input tokens'),
      output_tokens: n('output tokens'),
      cached_input_tokens: n('cached input tokens'),
      total_tokens: n('input + output tokens'),
      occurred_at: t('when the call happened'),
      run_id: s('workflow run id'),
      reservation_id: s('budget reservation id'),
      streamed: b('the call was streamed'),
      currency: s('currency'),
      cost_usd: d('legacy: always null (UsageRecorded carries no cost); use usage_priced events'),
      unpriced: b('legacy: always null (UsageRecorded carries no price flag); use usage_priced events'),
    },
  },
  usage_priced: {
    doc: "usage-metering priced (or could not price) a usage record, with the day's spend after it (hishamos.usage.priced.v1)",
    source: 'hishamos.usage.priced.v1',
    fields: {
      request_id: s('request id'),
      user_id: s('user id'),
      team_id: s('team id'),
      agent: s('agent'),
      command: s('command'),
      provider: s('provider'),
      model: s('model'),
      input_tokens: n('input tokens'),
      output_tokens: n('output tokens'),
      cached_input_tokens: n('cached input tokens'),
      total_tokens: n('input + output tokens'),
      occurred_at: t('when the call happened'),
      run_id: s('workflow run id'),
      cost_usd: d('cost of this record in USD (decimal string; "0" when unpriced)'),
      priced: b('false when no price was in effect for the provider/model (the cost is unknown)'),
      unpriced_reason: s('why it could not be priced (e.g. "unknown model"); empty when priced'),
      usage_day: s("the metering day the record counts in, YYYY-MM-DD (usage-metering's BUDGET_TIME_ZONE)"),
      user_spend_day_usd: d("the user's spend that day after this record (USD, decimal string)"),
      global_spend_day_usd: d("the whole platform's spend that day after this record (USD, decimal string)"),
    },
  },
  budget: {
    doc: 'a budget crossed its soft or hard limit (hishamos.budget.threshold-crossed.v1)',
    source: 'hishamos.budget.threshold-crossed.v1',
    fields: {
      budget_id: s('budget id'),
      scope: s('USER, TEAM or GLOBAL'),
      scope_id: s('the user or team id'),
      period: s('DAY, WEEK or MONTH'),
      period_start: s('start of the period'),
      threshold: s('SOFT or HARD'),
      spend_usd: d('spend in the period (USD, decimal string)'),
      limit_usd: d('the limit crossed (USD, decimal string)'),
    },
  },
  provider_health: {
    doc: "an LLM provider's circuit changed state (hishamos.providers.health.v1)",
    source: 'hishamos.providers.health.v1',
    fields: {
      provider: s('provider id (openai, anthropic, ...)'),
      state: s('CLOSED, HALF_OPEN or OPEN'),
      healthy: b('the provider is usable'),
      error: s('last error'),
      latency_ms: n('last latency in ms'),
      at: t('when it changed'),
    },
  },
  quality: {
    doc: "feedback-ml scored an execution's output 0-10 (hishamos.quality.scored.v1)",
    source: 'hishamos.quality.scored.v1',
    fields: {
      execution_id: s('execution id'),
      agent: s('agent'),
      command: s('command'),
      user_id: s('user id'),
      total: n('total score 0-10'),
      completeness: n('completeness score'),
      clarity: n('clarity score'),
      correctness: n('correctness score'),
      depth: n('depth score'),
      formatting: n('formatting score'),
      model_version: s('scorer model version'),
    },
  },
  prometheus: {
    doc: 'an alert Prometheus raised, received from Alertmanager (POST /v1/alertmanager/webhook)',
    source: 'alertmanager webhook',
    fields: {
      alertname: s('labels.alertname'),
      status: s('firing or resolved'),
      severity: s('labels.severity'),
      summary: s('annotations.summary'),
      description: s('annotations.description'),
      labels: m('all labels'),
      annotations: m('all annotations'),
      fingerprint: s("Alertmanager's fingerprint of the alert (stable per label set)"),
      starts_at: t('when it started firing'),
      ends_at: t('when it resolved'),
      generator_url: s('link to the expression in Prometheus'),
      receiver: s('Alertmanager receiver'),
      group_key: s('Alertmanager group key'),
      external_url: s("Alertmanager's URL"),
    },
  },
  dlq: {
    doc: 'a consumer moved a record to its dead-letter topic (hishamos.messaging.dead-lettered.v1, published by the bus; also POST /internal/v1/signals, type dlq)',
    source: 'hishamos.messaging.dead-lettered.v1',
    fields: {
      service: s('the service whose consumer gave up'),
      topic: s('the original topic'),
      dlq_topic: s('the dead-letter topic the record went to (<topic>.dlq)'),
      group: s('the consumer group'),
      reason: s('why it failed (the x-error header, redacted)'),
      attempts: n('delivery attempts before it was dead-lettered (null for signals)'),
      record_key: s("the record's key"),
      record_event_id: s("the dead-lettered record's CloudEvent id, when it had one"),
      record_event_type: s("the dead-lettered record's CloudEvent type, when it had one"),
      at: t('when it was dead-lettered'),
      count: n('records this event stands for (1 for the bus; a signal may say more)'),
    },
  },
  db_pool: {
    doc: "a service's database pool usage sample (sampled by alerting itself; POST /internal/v1/signals, type db_pool)",
    source: 'internal signal',
    fields: {
      service: s('the service'),
      usage: n('connections in use over the maximum, 0..1'),
    },
  },
} as const satisfies Record<string, EventTypeSpec>;

export type EventTypeName = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventTypeName[];

export function isEventType(name: string): name is EventTypeName {
  return Object.prototype.hasOwnProperty.call(EVENT_TYPES, name);
}

class SpecCatalog implements FieldCatalog {
  constructor(
    readonly description: string,
    private readonly fields: Readonly<Record<string, FieldSpec>>,
  ) {}
  field(name: string): FieldSpec | undefined {
    return Object.prototype.hasOwnProperty.call(this.fields, name) ? this.fields[name] : undefined;
  }
  names(): string[] {
    return Object.keys(this.fields);
  }
}

/** The fields of one event type (plus event_id and event_type). */
export function eventCatalog(type: EventTypeName): FieldCatalog {
  return new SpecCatalog(`${type} events`, { ...EVENT_TYPES[type].fields, ...COMMON });
}

/** What a metric rule's template can use: the aggregate and its context, plus the alias the rule names. */
export function metricCatalog(alias?: string): FieldCatalog {
  const fields: Record<string, FieldSpec> = {
    value: n('the aggregate over the window'),
    threshold: n('the threshold'),
    samples: n('events in the window'),
    window: s('the window, e.g. 15m or today'),
  };
  if (alias) fields[alias] = n('the aggregate over the window (the name the rule gives it)');
  return new SpecCatalog('metric rules', fields);
}

/** Names every rule's template may use besides its data. */
export const RULE_TEMPLATE_FIELDS = ['entity', 'rule_name', 'severity'] as const;
