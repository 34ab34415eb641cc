import { Injectable } from '@nestjs/common';
import type { Envelope, Topics } from '@hishamos/contracts';
import type { HandlerContext } from '@hishamos/messaging';
import { RecordExecutionResultUseCase } from '../usecases/record-execution-result/record-execution-result.usecase';

/**
 * hishamos.executions.completed.v1 → the steps' results (ignored when the orchestrator did not request them),
 * a whole batch of one partition per transaction (subscribeBatch).
 */
@Injectable()
export class ExecutionCompletedHandler {
  constructor(private readonly record: RecordExecutionResultUseCase) {}

  async handle(events: Envelope<typeof Topics.ExecutionCompleted>[], { tx }: HandlerContext): Promise<void> {
    await this.record.execute(events, tx);
  }
}
