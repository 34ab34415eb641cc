import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import {
  AGGREGATES,
  COMPARATORS,
  RULE_KINDS,
  SEVERITIES,
  type Aggregate,
  type Comparator,
  type MetricSpec,
  type RuleDefinition,
  type RuleKind,
  type Severity,
} from '../domain/rule-definition';

// Expression and template fields carry no length limit here: the rule compiler rejects an overlong
// one with the position, like any other bad expression.

export class MetricSpecDto {
  @IsIn(AGGREGATES)
  aggregate!: Aggregate;

  @IsOptional()
  @IsString()
  value?: string;

  @IsOptional()
  @IsNumber()
  percentile?: number;

  @IsString()
  @MaxLength(16)
  window!: string;

  @IsIn(COMPARATORS)
  comparator!: Comparator;

  /** A number or a decimal string; checked by the rule compiler. */
  @IsDefined()
  threshold!: number | string;

  @IsOptional()
  @IsInt()
  minSamples?: number;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  as?: string;
}

/** POST /v1/alert-rules, PUT /v1/alert-rules/:id: a whole rule. */
export class AlertRuleDto {
  @IsString()
  @MaxLength(100)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @IsIn(RULE_KINDS)
  kind!: RuleKind;

  @IsString()
  @MaxLength(64)
  eventType!: string;

  @IsOptional()
  @IsString()
  condition?: string;

  @IsOptional()
  @IsString()
  entity?: string | null;

  @IsOptional()
  @IsString()
  resolveWhen?: string | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MetricSpecDto)
  metric?: MetricSpecDto | null;

  @IsIn(SEVERITIES)
  severity!: Severity;

  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  channels!: string[];

  @IsNumber()
  cooldownMinutes!: number;

  @IsString()
  messageTemplate!: string;

  @IsOptional()
  @IsBoolean()
  notifyResolved?: boolean;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** PATCH /v1/alert-rules/:id: the fields to change. */
export class AlertRulePatchDto {
  @IsOptional()
  @IsString()
  @MaxLength(100)
  name?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @IsOptional()
  @IsIn(RULE_KINDS)
  kind?: RuleKind;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  eventType?: string;

  @IsOptional()
  @IsString()
  condition?: string;

  @IsOptional()
  @IsString()
  entity?: string | null;

  @IsOptional()
  @IsString()
  resolveWhen?: string | null;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MetricSpecDto)
  metric?: MetricSpecDto | null;

  @IsOptional()
  @IsIn(SEVERITIES)
  severity?: Severity;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @IsString({ each: true })
  channels?: string[];

  @IsOptional()
  @IsNumber()
  cooldownMinutes?: number;

  @IsOptional()
  @IsString()
  messageTemplate?: string;

  @IsOptional()
  @IsBoolean()
  notifyResolved?: boolean;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export function toDefinition(dto: AlertRuleDto | RuleDefinition): RuleDefinition {
  const metric = dto.metric
    ? ({
        aggregate: dto.metric.aggregate,
        ...(dto.metric.value !== undefined ? { value: dto.metric.value } : {}),
        ...(dto.metric.percentile !== undefined ? { percentile: dto.metric.percentile } : {}),
        window: dto.metric.window,
        comparator: dto.metric.comparator,
        threshold: dto.metric.threshold,
        ...(dto.metric.minSamples !== undefined ? { minSamples: dto.metric.minSamples } : {}),
        ...(dto.metric.as !== undefined ? { as: dto.metric.as } : {}),
      } satisfies MetricSpec)
    : null;
  return {
    name: dto.name,
    description: dto.description ?? '',
    kind: dto.kind,
    eventType: dto.eventType,
    condition: dto.condition ?? 'true',
    entity: dto.entity || null,
    resolveWhen: dto.resolveWhen || null,
    metric,
    severity: dto.severity,
    channels: dto.channels,
    cooldownMinutes: dto.cooldownMinutes,
    messageTemplate: dto.messageTemplate,
    notifyResolved: dto.notifyResolved ?? true,
    enabled: dto.enabled ?? true,
  };
}
