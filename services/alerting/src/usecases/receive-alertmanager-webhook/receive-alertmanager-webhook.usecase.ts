import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  ValidateNested,
  validate,
} from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { Value } from '../../domain/expression/expression';
import { RuleEvaluator } from '../../engine/rule-evaluator';
import { validated } from '../command';

/** One alert of Alertmanager's webhook payload (version 4). */
class AlertmanagerAlert {
  @IsIn(['firing', 'resolved'])
  status!: 'firing' | 'resolved';

  @IsObject()
  labels!: Record<string, unknown>;

  @IsOptional()
  @IsObject()
  annotations?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  startsAt?: string;

  @IsOptional()
  @IsString()
  endsAt?: string;

  @IsOptional()
  @IsString()
  @MaxLength(4096)
  generatorURL?: string;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  fingerprint?: string;
}

/** Alertmanager's webhook_config body, version 4 (unknown fields are ignored: Alertmanager may add some). */
export class AlertmanagerPayload {
  @IsIn(['4'], { message: 'version must be "4" (Alertmanager webhook format)' })
  version!: string;

  @IsOptional()
  @IsString()
  groupKey?: string;

  @IsOptional()
  @IsIn(['firing', 'resolved'])
  status?: string;

  @IsOptional()
  @IsString()
  receiver?: string;

  @IsOptional()
  @IsString()
  externalURL?: string;

  @IsDefined()
  @IsArray()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  @Type(() => AlertmanagerAlert)
  alerts!: AlertmanagerAlert[];
}

export class ReceiveAlertmanagerWebhookCommand {
  @IsDefined()
  body!: unknown;

  constructor(init?: Partial<ReceiveAlertmanagerWebhookCommand>) {
    Object.assign(this, init);
  }
}

function strings(o: Record<string, unknown> | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    if (typeof v !== 'string') throw ApiError.badRequest(`${field}.${k}`, 'must be a string');
    out[k] = v.slice(0, 4096);
  }
  return out;
}

/** Alertmanager's fingerprint, or the same idea computed from the sorted labels when it is absent. */
function fingerprintOf(alert: AlertmanagerAlert, labels: Record<string, string>): string {
  if (alert.fingerprint) return alert.fingerprint;
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0000');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * Alerts Prometheus raised, from Alertmanager: each firing or resolved alert becomes a `prometheus`
 * event that goes through the rules, cooldowns, channels and history like any other (the seeded
 * prometheus_* rules fire on `firing` and resolve on `resolved`, per fingerprint).
 */
@Injectable()
export class ReceiveAlertmanagerWebhookUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly evaluator: RuleEvaluator,
  ) {}

  async execute(command: ReceiveAlertmanagerWebhookCommand) {
    await validated(command);
    if (typeof command.body !== 'object' || command.body === null || Array.isArray(command.body))
      throw ApiError.badRequest('body', 'must be an Alertmanager webhook JSON object');
    const payload = plainToInstance(AlertmanagerPayload, command.body);
    const errors = await validate(payload, { whitelist: true, forbidNonWhitelisted: false });
    if (errors.length) throw ApiError.validation(errors);
    const events = payload.alerts.map((a, i) => {
      const labels = strings(a.labels, `alerts[${i}].labels`);
      const annotations = strings(a.annotations, `alerts[${i}].annotations`);
      const fingerprint = fingerprintOf(a, labels);
      const fields: Record<string, Value> = {
        alertname: labels.alertname ?? '',
        status: a.status,
        severity: labels.severity ?? '',
        summary: annotations.summary ?? '',
        description: annotations.description ?? '',
        labels,
        annotations,
        fingerprint,
        starts_at: a.startsAt ?? null,
        ends_at: a.endsAt && !a.endsAt.startsWith('0001-') ? a.endsAt : null,
        generator_url: a.generatorURL ?? '',
        receiver: payload.receiver ?? '',
        group_key: payload.groupKey ?? '',
        external_url: payload.externalURL ?? '',
      };
      return { type: 'prometheus' as const, id: `alertmanager:${fingerprint}:${a.status}:${randomUUID()}`, fields };
    });
    const totals = { alerts: events.length, notified: 0, resolved: 0 };
    await transactionWithHooks(this.ctx.db, async (tx) => {
      for (const event of events) {
        const s = await this.evaluator.evaluate(tx, this.ctx.outbox, event, 'alertmanager');
        totals.notified += s.notified;
        totals.resolved += s.resolved;
      }
    });
    return { status: 'ok', ...totals };
  }
}
