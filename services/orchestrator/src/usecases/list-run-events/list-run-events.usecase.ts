import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { ApiError, SERVICE_CONTEXT, type Identity, type ServiceContext } from '@hishamos/platform';
import { RunEventRepository } from '../../repositories/run-event.repository';
import { RunRepository } from '../../repositories/run.repository';
import { TERMINAL_RUN } from '../../repositories/rows';
import { runEventView, type RunEventView } from '../shared/run-view';
import { canSeeRun } from '../shared/validate-command';

export class ListRunEventsCommand {
  runId!: string;
  identity!: Identity;
  /** Events after this sequence number (Last-Event-ID); all when absent. */
  after?: string;
}

/** A run's events after a point, and whether the run has finished (the SSE stream then ends). */
@Injectable()
export class ListRunEventsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly runs: RunRepository,
    private readonly events: RunEventRepository,
  ) {}

  /** Checks the run exists and the caller may see it. */
  async authorize(command: ListRunEventsCommand): Promise<void> {
    if (!isUUID(command.runId)) throw ApiError.notFound('run', command.runId);
    const run = await this.runs.get(this.ctx.db, command.runId);
    if (!run || !canSeeRun(command.identity, run)) throw ApiError.notFound('run', command.runId);
  }

  async execute(command: ListRunEventsCommand): Promise<{ events: RunEventView[]; finished: boolean }> {
    const after = command.after && /^\d+$/.test(command.after) ? command.after : '0';
    // Status first: a run seen finished has all its events written already (same transaction).
    const run = await this.runs.get(this.ctx.db, command.runId);
    if (!run || !canSeeRun(command.identity, run)) throw ApiError.notFound('run', command.runId);
    const rows = await this.events.after(this.ctx.db, command.runId, after);
    return { events: rows.map(runEventView), finished: TERMINAL_RUN.has(run.status) && rows.length < 500 };
  }
}
