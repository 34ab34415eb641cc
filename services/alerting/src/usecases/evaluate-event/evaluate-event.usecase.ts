import { Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsString, MinLength } from 'class-validator';
import type { Outbox } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { EVENT_TYPE_NAMES, type EventTypeName } from '../../domain/event-types';
import type { Value } from '../../domain/expression/expression';
import { RuleEvaluator, type EvaluationSummary } from '../../engine/rule-evaluator';
import { validated } from '../command';

export class EvaluateEventCommand {
  @IsIn(EVENT_TYPE_NAMES)
  type!: EventTypeName;

  @IsString()
  @MinLength(1)
  id!: string;

  @IsObject()
  fields!: Record<string, Value>;

  /** event | alertmanager | signal */
  @IsString()
  source = 'event';

  /** The transaction the effects commit in (the consumer's, with its processed-event record). */
  tx!: SqlExecutor;
  outbox!: Outbox;

  constructor(init?: Partial<EvaluateEventCommand>) {
    Object.assign(this, init);
  }
}

/** Evaluates one event against the enabled rules of its type, in the caller's transaction. */
@Injectable()
export class EvaluateEventUseCase {
  constructor(private readonly evaluator: RuleEvaluator) {}

  async execute(command: EvaluateEventCommand): Promise<EvaluationSummary> {
    await validated(command);
    return this.evaluator.evaluate(
      command.tx,
      command.outbox,
      { type: command.type, id: command.id, fields: command.fields },
      command.source,
    );
  }
}
