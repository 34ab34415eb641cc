import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { GetRunUseCase } from '../usecases/get-run/get-run.usecase';
import { SubmitTaskUseCase } from '../usecases/submit-task/submit-task.usecase';
import { SubmitTaskDto } from './orchestrator.dto';

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
    @Headers('idempotency-key') idempotencyHeader?: string,
  ) {
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
