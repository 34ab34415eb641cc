import { Injectable } from '@nestjs/common';
import type { Envelope, Topics } from '@hishamos/contracts';
import type { HandlerContext } from '@hishamos/messaging';
import { RecordExecutionResultUseCase } from '../usecases/record-execution-result/record-execution-result.usecase';

/** hishamos.executions.completed.v1 → the step's result (ignored when the orchestrator did not request it). */
@Injectable()
export class ExecutionCompletedHandler {
  constructor(private readonly record: RecordExecutionResultUseCase) {}

  async handle(event: Envelope<typeof Topics.ExecutionCompleted>, { tx }: HandlerContext): Promise<void> {
    await this.record.execute(event, tx);
  }
}
