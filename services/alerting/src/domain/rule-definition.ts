import { isDecimalString, numberToDecimal } from './decimal';
import { eventCatalog, isEventType, metricCatalog, RULE_TEMPLATE_FIELDS, type EventTypeName } from './event-types';
import { compileExpression, ExpressionError, type CompiledExpression } from './expression/expression';
import { MessageTemplate, TemplateError } from './template/message-template';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const RULE_KINDS = ['event', 'metric'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const AGGREGATES = ['count', 'rate', 'sum', 'avg', 'min', 'max', 'percentile'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
export const COMPARATORS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparator = (typeof COMPARATORS)[number];
export const RULE_NAME = /^[a-z][a-z0-9_.-]{1,99}$/;
const WINDOW = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
export const MAX_WINDOW_SECONDS = 31 * 86400;

/** A metric rule's aggregate: `<aggregate>(<value>) over <window> <comparator> <threshold>`. */
export interface MetricSpec {
  aggregate: Aggregate;
  /** count: unused; rate: a predicate (the share of events for which it is true); others: a number. */
  value?: string;
  /** percentile: 0 < p < 100. */
  percentile?: number;
  /** `15m`, `1h`, `7d`, ... or `today` (the current UTC day). */
  window: string;
  comparator: Comparator;
  /** A number or decimal string. */
  threshold: number | string;
  /** Fewer events than this in the window: the rule neither fires nor holds (default 1). */
  minSamples?: number;
  /** The name templates can use for the aggregate (besides `value`), e.g. error_rate. */
  as?: string;
}

/** A rule as stored and as the API takes it. */
export interface RuleDefinition {
  name: string;
  description?: string;
  kind: RuleKind;
  eventType: string;
  /** Event rules: the predicate that fires. Metric rules: which events count (default true). */
  condition: string;
  /** An expression naming what the alert is about (a provider, a run); its alerts, cooldowns and dedup keys are per entity. */
  entity?: string | null;
  /** Event rules: a predicate that clears the entity's alert (e.g. the provider is healthy again). */
  resolveWhen?: string | null;
  metric?: MetricSpec | null;
  severity: Severity;
  channels: string[];
  cooldownMinutes: number;
  messageTemplate: string;
  /** Send a resolve notice when the condition clears (default true). */
  notifyResolved?: boolean;
  enabled?: boolean;
}

/** Why a rule cannot be saved: the field at fault, the reason, and the position in it when it is an expression or template. */
export class RuleValidationError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly code = 'invalid_rule',
    readonly position?: number,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'RuleValidationError';
  }
}

export interface CompiledMetric {
  aggregate: Aggregate;
  value?: CompiledExpression;
  percentile?: number;
  window: string;
  /** Sliding window length; for `today` the length of a day (retention). */
  windowSeconds: number;
  calendarDay: boolean;
  comparator: Comparator;
  threshold: string;
  minSamples: number;
  as?: string;
}

/** A validated rule with its expressions and template compiled. */
export interface CompiledRule {
  id: string;
  revision: number;
  definition: RuleDefinition;
  eventType: EventTypeName;
  condition: CompiledExpression;
  entity?: CompiledExpression;
  resolveWhen?: CompiledExpression;
  metric?: CompiledMetric;
  template: MessageTemplate;
  cooldownSeconds: number;
  /** It has a state that clears: metric rules, and event rules with resolveWhen. */
  stateful: boolean;
}

export function parseWindow(window: string): { seconds: number; calendarDay: boolean } | undefined {
  if (window === 'today') return { seconds: 86400, calendarDay: true };
  const m = WINDOW.exec(window);
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  if (seconds < 10 || seconds > MAX_WINDOW_SECONDS) return undefined;
  return { seconds, calendarDay: false };
}

function expr(field: string, source: unknown, catalog: ReturnType<typeof eventCatalog>): CompiledExpression {
  if (typeof source !== 'string') throw new RuleValidationError(field, 'must be an expression string');
  try {
    return compileExpression(source, catalog);
  } catch (error) {
    if (error instanceof ExpressionError)
      throw new RuleValidationError(field, error.message, 'invalid_expression', error.position);
    throw error;
  }
}

/**
 * Checks a rule completely before it is saved: its event type, its expressions (syntax, fields and
 * functions, naming the position), its metric, its template's fields, and that every channel exists.
 */
export function compileRule(
  def: RuleDefinition,
  knownChannels: ReadonlySet<string>,
  id = '',
  revision = 0,
): CompiledRule {
  if (!RULE_NAME.test(def.name ?? ''))
    throw new RuleValidationError(
      'name',
      'must be 2-100 characters: lower-case letters, digits, _ . - (starting with a letter)',
    );
  if (!(RULE_KINDS as readonly string[]).includes(def.kind))
    throw new RuleValidationError('kind', `must be one of ${RULE_KINDS.join(', ')}`);
  if (!isEventType(def.eventType ?? ''))
    throw new RuleValidationError('eventType', `unknown event type '${def.eventType}'`);
  const eventType = def.eventType as EventTypeName;
  const catalog = eventCatalog(eventType);
  if (!(SEVERITIES as readonly string[]).includes(def.severity))
    throw new RuleValidationError('severity', `must be one of ${SEVERITIES.join(', ')}`);
  if (!Array.isArray(def.channels) || def.channels.length === 0)
    throw new RuleValidationError('channels', 'name at least one channel');
  const seen = new Set<string>();
  def.channels.forEach((c, i) => {
    if (!knownChannels.has(c))
      throw new RuleValidationError(
        `channels[${i}]`,
        `unknown channel '${c}' (create it with POST /v1/channels)`,
        'unknown_channel',
      );
    if (seen.has(c)) throw new RuleValidationError(`channels[${i}]`, `channel '${c}' is listed twice`);
    seen.add(c);
  });
  if (
    typeof def.cooldownMinutes !== 'number' ||
    !Number.isFinite(def.cooldownMinutes) ||
    def.cooldownMinutes < 0 ||
    def.cooldownMinutes > 10080
  )
    throw new RuleValidationError('cooldownMinutes', 'must be a number of minutes from 0 to 10080 (a week)');

  const condition = expr('condition', def.condition ?? 'true', catalog);
  const entity = def.entity ? expr('entity', def.entity, catalog) : undefined;
  let resolveWhen: CompiledExpression | undefined;
  let metric: CompiledMetric | undefined;
  if (def.kind === 'event') {
    if (def.metric) throw new RuleValidationError('metric', 'only metric rules have a metric');
    if (def.resolveWhen) resolveWhen = expr('resolveWhen', def.resolveWhen, catalog);
  } else {
    if (def.resolveWhen)
      throw new RuleValidationError(
        'resolveWhen',
        'metric rules resolve when the aggregate is back within the threshold',
      );
    metric = compileMetric(def.metric, catalog);
  }

  const templateCatalog = def.kind === 'metric' ? metricCatalog(metric?.as) : catalog;
  if (typeof def.messageTemplate !== 'string' || !def.messageTemplate.trim())
    throw new RuleValidationError('messageTemplate', 'must be a non-empty template');
  let template: MessageTemplate;
  try {
    template = MessageTemplate.compile(def.messageTemplate, templateCatalog, RULE_TEMPLATE_FIELDS);
  } catch (error) {
    if (error instanceof TemplateError)
      throw new RuleValidationError('messageTemplate', error.message, 'invalid_template', error.position);
    throw error;
  }

  return {
    id,
    revision,
    definition: def,
    eventType,
    condition,
    entity,
    resolveWhen,
    metric,
    template,
    cooldownSeconds: Math.round(def.cooldownMinutes * 60),
    stateful: def.kind === 'metric' || resolveWhen !== undefined,
  };
}

function compileMetric(spec: MetricSpec | null | undefined, catalog: ReturnType<typeof eventCatalog>): CompiledMetric {
  if (!spec || typeof spec !== 'object') throw new RuleValidationError('metric', 'metric rules need a metric');
  if (!(AGGREGATES as readonly string[]).includes(spec.aggregate))
    throw new RuleValidationError('metric.aggregate', `must be one of ${AGGREGATES.join(', ')}`);
  const window = parseWindow(String(spec.window ?? ''));
  if (!window)
    throw new RuleValidationError('metric.window', "must look like 30s, 15m, 1h or 7d (10 s to 31 days), or 'today'");
  if (!(COMPARATORS as readonly string[]).includes(spec.comparator))
    throw new RuleValidationError('metric.comparator', `must be one of ${COMPARATORS.join(' ')}`);
  const threshold =
    typeof spec.threshold === 'number'
      ? numberToDecimal(spec.threshold)
      : isDecimalString(spec.threshold)
        ? spec.threshold.trim()
        : undefined;
  if (threshold === undefined) throw new RuleValidationError('metric.threshold', 'must be a number');
  let value: CompiledExpression | undefined;
  if (spec.aggregate === 'count') {
    if (spec.value) throw new RuleValidationError('metric.value', 'count counts events; it takes no value');
  } else {
    if (!spec.value)
      throw new RuleValidationError(
        'metric.value',
        spec.aggregate === 'rate'
          ? 'rate needs a predicate: the share of events for which it is true'
          : `${spec.aggregate} needs a value expression`,
      );
    value = expr('metric.value', spec.value, catalog);
  }
  let percentile: number | undefined;
  if (spec.aggregate === 'percentile') {
    if (typeof spec.percentile !== 'number' || !(spec.percentile > 0 && spec.percentile < 100))
      throw new RuleValidationError('metric.percentile', 'must be a number between 0 and 100 (exclusive)');
    percentile = spec.percentile;
  } else if (spec.percentile !== undefined && spec.percentile !== null) {
    throw new RuleValidationError('metric.percentile', 'only the percentile aggregate takes one');
  }
  const minSamples = spec.minSamples ?? 1;
  if (!Number.isInteger(minSamples) || minSamples < 1 || minSamples > 1_000_000)
    throw new RuleValidationError('metric.minSamples', 'must be a whole number from 1');
  if (spec.as !== undefined && spec.as !== null) {
    if (!/^[a-z_][a-z0-9_]{0,63}$/.test(spec.as))
      throw new RuleValidationError('metric.as', 'must be a lower-case name (letters, digits, _)');
    if (['value', 'threshold', 'samples', 'window', ...RULE_TEMPLATE_FIELDS].includes(spec.as))
      throw new RuleValidationError('metric.as', `'${spec.as}' is already a template field`);
  }
  return {
    aggregate: spec.aggregate,
    value,
    percentile,
    window: String(spec.window),
    windowSeconds: window.seconds,
    calendarDay: window.calendarDay,
    comparator: spec.comparator,
    threshold,
    minSamples,
    as: spec.as ?? undefined,
  };
}
