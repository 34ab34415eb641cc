import { Injectable } from '@nestjs/common';
import type { Envelope, Topics } from '@hishamos/contracts';
import type { HandlerContext } from '@hishamos/messaging';
import { IntakeTaskEventUseCase } from '../usecases/intake-task-event/intake-task-event.usecase';

/** hishamos.tasks.requested.v1 → a run (idempotent by the event's source and id; invalid → DLQ). */
@Injectable()
export class TaskRequestedHandler {
  constructor(private readonly intake: IntakeTaskEventUseCase) {}

  async handle(event: Envelope<typeof Topics.TaskRequested>, { tx }: HandlerContext): Promise<void> {
    await this.intake.execute(event, tx);
  }
}
