import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsString, Matches } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { Value } from '../../domain/expression/expression';
import { RuleEvaluator, type EvaluationSummary } from '../../engine/rule-evaluator';
import { validated } from '../command';

export const SIGNAL_TYPES = ['dlq', 'db_pool'] as const;

export class RecordSignalCommand {
  @IsIn(SIGNAL_TYPES)
  type!: (typeof SIGNAL_TYPES)[number];

  /** The service the signal is about (the caller's name, from its credential). */
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/)
  service!: string;

  @IsObject()
  fields!: Record<string, unknown>;

  constructor(init?: Partial<RecordSignalCommand>) {
    Object.assign(this, init);
  }
}

function text(fields: Record<string, unknown>, key: string, required: boolean, max = 1000): string {
  const v = fields[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw ApiError.badRequest(`fields.${key}`, 'is required');
    return '';
  }
  if (typeof v !== 'string') throw ApiError.badRequest(`fields.${key}`, 'must be a string');
  return v.slice(0, max);
}

function toFields(
  type: RecordSignalCommand['type'],
  service: string,
  f: Record<string, unknown>,
): Record<string, Value> {
  if (type === 'dlq') {
    const count = f.count ?? 1;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1_000_000)
      throw ApiError.badRequest('fields.count', 'must be a whole number from 1');
    const topic = text(f, 'topic', true, 255);
    // The same fields as the bus's DeadLettered events (the `dlq` event type has one shape).
    return {
      service,
      topic,
      dlq_topic: `${topic}.dlq`,
      group: text(f, 'group', false, 255),
      reason: text(f, 'reason', false) || 'no reason recorded',
      attempts: null,
      record_key: '',
      record_event_id: '',
      record_event_type: '',
      at: new Date().toISOString(),
      count,
    };
  }
  const usage = f.usage;
  if (typeof usage !== 'number' || !Number.isFinite(usage) || usage < 0 || usage > 1)
    throw ApiError.badRequest('fields.usage', 'must be a number from 0 to 1');
  return { service, usage };
}

/**
 * Platform signals that are not Kafka events: a database pool sample, or a message moved to a DLQ by
 * something other than the bus (the bus itself publishes DeadLettered, which feeds the same `dlq`
 * event type). Services post them to POST /internal/v1/signals; alerting samples its own pool itself.
 */
@Injectable()
export class RecordSignalUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly evaluator: RuleEvaluator,
  ) {}

  async execute(command: RecordSignalCommand): Promise<EvaluationSummary> {
    await validated(command);
    const fields = toFields(command.type, command.service, command.fields);
    return transactionWithHooks(this.ctx.db, (tx) =>
      this.evaluator.evaluate(
        tx,
        this.ctx.outbox,
        { type: command.type, id: `signal:${randomUUID()}`, fields },
        'signal',
      ),
    );
  }
}
