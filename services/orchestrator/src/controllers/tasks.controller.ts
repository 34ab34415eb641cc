import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { GetRunUseCase } from '../usecases/get-run/get-run.usecase';
import { SubmitTaskUseCase } from '../usecases/submit-task/submit-task.usecase';
import { SubmitTaskDto } from './orchestrator.dto';
import { withRequestSpan } from './request-span';

@Controller('v1/tasks')
export class TasksController {
  constructor(
    private readonly submit: SubmitTaskUseCase,
    private readonly getRun: GetRunUseCase,
  ) {}

  /** One command of one agent, run as the caller; 202 with the run (queued), then GET /v1/runs/:id or its events. */
  @Post()
  @HttpCode(202)
  @RequireRoles('admin', 'operator', 'member')
  async create(
    @Body() body: SubmitTaskDto,
    @CurrentIdentity() identity: Identity,
    @Headers() headers: Record<string, string | undefined>,
  ) {
    const idempotencyHeader = headers['idempotency-key'];
    // The run keeps this request's trace context: what it causes later is published in child spans of it.
    return withRequestSpan('POST', '/v1/tasks', headers, () => this.submitAs(body, identity, idempotencyHeader));
  }

  private async submitAs(body: SubmitTaskDto, identity: Identity, idempotencyHeader: string | undefined) {
    const { run } = await this.submit.execute({
      agent: body.agent,
      command: body.command,
      inputs: body.inputs ?? {},
      userId: identity.subject,
      teamId: identity.teamId,
      taskId: body.taskId,
      priority: body.priority ?? 'normal',
      source: `api:${identity.subject}`,
      sourceId: body.idempotencyKey ?? idempotencyHeader ?? randomUUID(),
    });
    return this.getRun.execute({ runId: run.id, identity });
  }
}
