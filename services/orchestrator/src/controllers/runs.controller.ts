import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentIdentity, type Identity } from '@hishamos/platform';
import { RunEventNotifier } from '../engine/run-event-notifier';
import { CancelRunUseCase } from '../usecases/cancel-run/cancel-run.usecase';
import { DecideApprovalUseCase } from '../usecases/decide-approval/decide-approval.usecase';
import { GetRunUseCase } from '../usecases/get-run/get-run.usecase';
import { ListRunEventsUseCase } from '../usecases/list-run-events/list-run-events.usecase';
import { ListRunsUseCase } from '../usecases/list-runs/list-runs.usecase';
import { CancelDto, DecisionDto, ListRunsQuery, RunEventsQuery } from './orchestrator.dto';
import { withRequestSpan } from './request-span';
import { streamRunEvents } from './run-event-stream';

@Controller('v1/runs')
export class RunsController {
  constructor(
    private readonly listRuns: ListRunsUseCase,
    private readonly getRun: GetRunUseCase,
    private readonly listEvents: ListRunEventsUseCase,
    private readonly cancelRun: CancelRunUseCase,
    private readonly decide: DecideApprovalUseCase,
    private readonly notifier: RunEventNotifier,
  ) {}

  /** Recent runs, newest first (`nextCursor` pages on); people see their own, admins and operators anyone's. */
  @Get()
  index(@Query() q: ListRunsQuery, @CurrentIdentity() identity: Identity) {
    return this.listRuns.execute({
      identity,
      userId: q.user,
      status: q.status,
      workflow: q.workflow,
      limit: q.limit ?? 20,
      cursor: q.cursor,
    });
  }

  @Get(':id')
  show(@Param('id') id: string, @CurrentIdentity() identity: Identity) {
    return this.getRun.execute({ runId: id, identity });
  }

  /**
   * The run's events: Server-Sent Events (replay, then live, ending after the run finishes) with
   * `Accept: text/event-stream`, else JSON. Resumes after `Last-Event-ID` or `?after=`.
   */
  @Get(':id/events')
  async events(
    @Param('id') id: string,
    @Query() q: RunEventsQuery,
    @CurrentIdentity() identity: Identity,
    @Res() reply: FastifyReply,
    @Headers('accept') accept?: string,
    @Headers('last-event-id') lastEventId?: string,
  ): Promise<void> {
    await this.listEvents.authorize({ runId: id, identity });
    const after = lastEventId ?? q.after;
    if (!accept?.includes('text/event-stream')) {
      await reply.send(await this.listEvents.execute({ runId: id, identity, after }));
      return;
    }
    await streamRunEvents(reply, (cursor) => this.listEvents.execute({ runId: id, identity, after: cursor }), {
      after,
      waitForNext: (ms) => this.notifier.wait(id, ms),
      closing: () => this.notifier.closing,
    });
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(
    @Param('id') id: string,
    @Body() body: CancelDto,
    @CurrentIdentity() identity: Identity,
    @Headers() headers: Record<string, string | undefined>,
  ) {
    return withRequestSpan('POST', '/v1/runs/:id/cancel', headers, () =>
      this.cancelRun.execute({ runId: id, identity, reason: body?.reason }),
    );
  }

  @Post(':id/steps/:step/approve')
  @HttpCode(200)
  approve(
    @Param('id') id: string,
    @Param('step') step: string,
    @Body() body: DecisionDto,
    @CurrentIdentity() identity: Identity,
    @Headers() headers: Record<string, string | undefined>,
  ) {
    return withRequestSpan('POST', '/v1/runs/:id/steps/:step/approve', headers, () =>
      this.decide.execute({ runId: id, stepId: step, decision: 'approve', identity, comment: body?.comment }),
    );
  }

  @Post(':id/steps/:step/reject')
  @HttpCode(200)
  reject(
    @Param('id') id: string,
    @Param('step') step: string,
    @Body() body: DecisionDto,
    @CurrentIdentity() identity: Identity,
    @Headers() headers: Record<string, string | undefined>,
  ) {
    return withRequestSpan('POST', '/v1/runs/:id/steps/:step/reject', headers, () =>
      this.decide.execute({ runId: id, stepId: step, decision: 'reject', identity, comment: body?.comment }),
    );
  }
}
