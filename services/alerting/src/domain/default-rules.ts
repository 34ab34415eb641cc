import type { RuleDefinition } from './rule-definition';

/**
 * The seed's six default rules (seed 001, section 6.1), as data, plus budget hard limit, unpriced
 * model, DLQ, and two rules that carry Prometheus's alerts (from Alertmanager) to the channels.
 * Seeded once each; operators edit or delete them like any rule. A changed default reaches existing
 * installs through a migration that updates only rows still equal to the version seeded before
 * (migrations/alerting/0003_priced_and_dead_lettered_rules.sql; see LEGACY_DEFAULT_RULES).
 */
export const DEFAULT_RULES: RuleDefinition[] = [
  {
    name: 'high_error_rate',
    description:
      'More than 5% of the workflow steps that finished in the last 15 minutes failed (at least 20 steps). Every execution runs as a workflow step.',
    kind: 'metric',
    eventType: 'workflow',
    condition: 'kind in ["STEP_SUCCEEDED", "STEP_FAILED"]',
    metric: {
      aggregate: 'rate',
      value: 'kind == "STEP_FAILED"',
      window: '15m',
      comparator: '>',
      threshold: 0.05,
      minSamples: 20,
      as: 'error_rate',
    },
    severity: 'warning',
    channels: ['slack'],
    cooldownMinutes: 15,
    messageTemplate: '⚠️ High error rate detected: {error_rate:.2%}',
  },
  {
    name: 'workflow_failed',
    description: 'A workflow run failed. No cooldown: every failure is sent.',
    kind: 'event',
    eventType: 'workflow',
    condition: 'kind == "FAILED"',
    entity: 'run_id',
    severity: 'error',
    channels: ['email', 'slack'],
    cooldownMinutes: 0,
    messageTemplate: '❌ Workflow failed: {workflow_name} - {error}',
  },
  {
    name: 'high_cost',
    description:
      "The platform's AI spend for a day (usage-metering's usage_day) went above $100. Once per day: the entity is the day, and the 2-day cooldown outlasts it, so late records of a day already paged do not page again; the next day is a new entity.",
    kind: 'event',
    eventType: 'usage_priced',
    condition: 'global_spend_day_usd > 100',
    entity: 'usage_day',
    severity: 'warning',
    channels: ['email'],
    cooldownMinutes: 2880,
    messageTemplate: '💰 High cost alert: ${global_spend_day_usd:.2f} spent on {usage_day}',
  },
  {
    name: 'platform_down',
    description: "An AI provider's circuit opened (it is down); resolves when it is healthy again.",
    kind: 'event',
    eventType: 'provider_health',
    condition: 'not healthy',
    entity: 'provider',
    resolveWhen: 'healthy',
    severity: 'critical',
    channels: ['slack', 'pagerduty'],
    cooldownMinutes: 5,
    messageTemplate: '🚨 AI Platform DOWN: {provider}',
  },
  {
    name: 'low_quality',
    description: 'The average quality score of the last hour is below 6.0/10 (at least 5 scores).',
    kind: 'metric',
    eventType: 'quality',
    condition: 'true',
    metric: {
      aggregate: 'avg',
      value: 'total',
      window: '1h',
      comparator: '<',
      threshold: 6,
      minSamples: 5,
      as: 'avg_quality_score',
    },
    severity: 'warning',
    channels: ['slack'],
    cooldownMinutes: 30,
    messageTemplate: '📉 Low quality scores: {avg_quality_score:.1f}/10',
  },
  {
    name: 'db_connection_pool_exhausted',
    description: "A service's database connection pool averaged over 90% in use for 2 minutes.",
    kind: 'metric',
    eventType: 'db_pool',
    condition: 'true',
    entity: 'service',
    metric: { aggregate: 'avg', value: 'usage', window: '2m', comparator: '>', threshold: 0.9, as: 'db_pool_usage' },
    severity: 'critical',
    channels: ['slack', 'email'],
    cooldownMinutes: 10,
    messageTemplate: '🔴 Database connection pool of {entity} at {db_pool_usage:.0%}',
  },
  {
    name: 'budget_hard_limit_reached',
    description: 'A budget reached its hard limit: requests charged to it are refused.',
    kind: 'event',
    eventType: 'budget',
    condition: 'threshold == "HARD"',
    entity: 'budget_id + ":" + period_start',
    severity: 'error',
    channels: ['email', 'slack'],
    cooldownMinutes: 60,
    messageTemplate:
      '⛔ Budget hard limit reached: {scope} {scope_id} {period} budget, ${spend_usd} spent of ${limit_usd}',
  },
  {
    name: 'unknown_model_priced',
    description:
      'usage-metering recorded usage of a model it has no price for: its cost counts as $0 until a price is added. Once per provider/model per hour.',
    kind: 'event',
    eventType: 'usage_priced',
    condition: 'priced == false',
    entity: 'provider + "/" + model',
    severity: 'warning',
    channels: ['slack'],
    cooldownMinutes: 60,
    messageTemplate:
      '❓ Unpriced model {provider}/{model} ({unpriced_reason}): its usage counts as $0 until a price is added',
  },
  {
    name: 'dlq_receiving_messages',
    description:
      'A consumer moved a record to its dead-letter topic. Once per topic and service per 15 minutes: the records dead-lettered meanwhile are counted (suppressedBefore on the next alert), not sent.',
    kind: 'event',
    eventType: 'dlq',
    condition: 'true',
    entity: 'topic + " (" + service + ")"',
    severity: 'error',
    channels: ['slack'],
    cooldownMinutes: 15,
    messageTemplate: '📬 DLQ receiving messages: {service} moved a record from {topic} to {dlq_topic}: {reason}',
  },
  {
    name: 'prometheus_critical',
    description: 'Critical alerts Prometheus raised (via Alertmanager), per alert fingerprint; resolved with them.',
    kind: 'event',
    eventType: 'prometheus',
    condition: 'status == "firing" and severity == "critical"',
    entity: 'fingerprint',
    resolveWhen: 'status == "resolved"',
    severity: 'critical',
    channels: ['slack', 'pagerduty'],
    cooldownMinutes: 60,
    messageTemplate: '🚨 {alertname}: {summary}',
  },
  {
    name: 'prometheus_alert',
    description: 'Other alerts Prometheus raised (via Alertmanager), per alert fingerprint; resolved with them.',
    kind: 'event',
    eventType: 'prometheus',
    condition: 'status == "firing" and severity != "critical"',
    entity: 'fingerprint',
    resolveWhen: 'status == "resolved"',
    severity: 'warning',
    channels: ['slack'],
    cooldownMinutes: 60,
    messageTemplate: '⚠️ {alertname}: {summary}',
  },
];

export interface DefaultChannel {
  name: string;
  type: string;
  config: Record<string, unknown>;
  secretPath: string | null;
}

/** The channels the default rules send to. Their credentials are expected in the secrets service at these paths. */
export function defaultChannels(s: {
  SMTP_HOST?: string;
  SMTP_PORT?: number;
  ALERT_EMAIL_FROM?: string;
  ALERT_EMAIL_TO?: string;
}): DefaultChannel[] {
  const to = (s.ALERT_EMAIL_TO ?? 'oncall@hishamos.local')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return [
    {
      name: 'email',
      type: 'email',
      config: {
        host: s.SMTP_HOST ?? 'localhost',
        port: s.SMTP_PORT ?? 587,
        tls: 'starttls',
        from: s.ALERT_EMAIL_FROM ?? 'alerts@hishamos.local',
        to,
      },
      secretPath: 'channels/email/smtp',
    },
    { name: 'slack', type: 'slack', config: {}, secretPath: 'channels/slack/webhook-url' },
    { name: 'pagerduty', type: 'pagerduty', config: {}, secretPath: 'channels/pagerduty/routing-key' },
  ];
}

/**
 * Earlier seeded versions of defaults that have changed since, kept to check the migration that moves
 * untouched rows to the current version. high_cost and unknown_model_priced watched fields of
 * UsageRecorded that no producer sends; dlq_receiving_messages was fed only by internal signals.
 */
export const LEGACY_DEFAULT_RULES: RuleDefinition[] = [
  {
    name: 'high_cost',
    description: 'AI spend today (UTC) is above $100: the sum of priced usage records (cost_usd).',
    kind: 'metric',
    eventType: 'usage',
    condition: 'exists(cost_usd)',
    metric: {
      aggregate: 'sum',
      value: 'cost_usd',
      window: 'today',
      comparator: '>',
      threshold: '100',
      as: 'cost_today',
    },
    severity: 'warning',
    channels: ['email'],
    cooldownMinutes: 60,
    messageTemplate: '💰 High cost alert: ${cost_today:.2f} today',
  },
  {
    name: 'unknown_model_priced',
    description: 'Usage of a model with no price was recorded: its cost is unknown until a price is added.',
    kind: 'event',
    eventType: 'usage',
    condition: 'unpriced == true',
    entity: 'provider + "/" + model',
    severity: 'warning',
    channels: ['slack'],
    cooldownMinutes: 60,
    messageTemplate: '❓ Usage of unpriced model {provider}/{model}: its cost is not counted until a price is added',
  },
  {
    name: 'dlq_receiving_messages',
    description: 'Messages from a topic went to its dead-letter topic in the last 5 minutes.',
    kind: 'metric',
    eventType: 'dlq',
    condition: 'true',
    entity: 'topic',
    metric: { aggregate: 'sum', value: 'count', window: '5m', comparator: '>', threshold: 0, as: 'dlq_messages' },
    severity: 'error',
    channels: ['slack'],
    cooldownMinutes: 15,
    messageTemplate: '📬 {dlq_messages:d} message(s) from {entity} went to its DLQ in the last {window}',
  },
];
