import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CurrentIdentity, RequireRoles, type Identity } from '@hishamos/platform';
import { WorkflowDefinitionValidator } from '../definitions/workflow-definition-validator';
import { GetRunUseCase } from '../usecases/get-run/get-run.usecase';
import { definitionSummary } from '../usecases/get-workflow/get-workflow.usecase';
import { GetWorkflowUseCase } from '../usecases/get-workflow/get-workflow.usecase';
import { ListWorkflowsUseCase } from '../usecases/list-workflows/list-workflows.usecase';
import { RegisterWorkflowUseCase } from '../usecases/register-workflow/register-workflow.usecase';
import { StartWorkflowRunUseCase } from '../usecases/start-workflow-run/start-workflow-run.usecase';
import { RegisterWorkflowDto, StartRunDto, WorkflowVersionQuery } from './orchestrator.dto';
import { withRequestSpan } from './request-span';

@Controller('v1/workflows')
export class WorkflowsController {
  constructor(
    private readonly list: ListWorkflowsUseCase,
    private readonly get: GetWorkflowUseCase,
    private readonly register: RegisterWorkflowUseCase,
    private readonly start: StartWorkflowRunUseCase,
    private readonly getRun: GetRunUseCase,
    private readonly validator: WorkflowDefinitionValidator,
  ) {}

  @Get()
  index() {
    return this.list.execute();
  }

  /** The JSON Schema of workflow definitions (also seeds/workflow.schema.json). */
  @Get('schema')
  schema() {
    return this.validator.jsonSchema();
  }

  @Get(':id')
  show(@Param('id') id: string, @Query() query: WorkflowVersionQuery) {
    return this.get.execute({ workflow: id, version: query.version });
  }

  /** A new definition, or a new version of one (runs in progress keep theirs). */
  @Post()
  @HttpCode(201)
  @RequireRoles('admin', 'operator')
  async create(@Body() body: RegisterWorkflowDto, @CurrentIdentity() identity: Identity) {
    const r = await this.register.execute({
      definition: body.definition,
      yaml: body.yaml,
      source: 'api',
      createdBy: identity.subject,
    });
    return { ...definitionSummary(r.definition), created: r.created };
  }

  /** Starts a run of the workflow (by id or name), latest version unless `version` is given. */
  @Post(':id/runs')
  @HttpCode(202)
  @RequireRoles('admin', 'operator', 'member')
  async run(
    @Param('id') id: string,
    @Body() body: StartRunDto,
    @CurrentIdentity() identity: Identity,
    @Headers() headers: Record<string, string | undefined>,
  ) {
    const idempotencyHeader = headers['idempotency-key'];
    // The run keeps this request's trace context: what it causes later is published in child spans of it.
    return withRequestSpan('POST', '/v1/workflows/:id/runs', headers, () =>
      this.startAs(id, body, identity, idempotencyHeader),
    );
  }

  private async startAs(id: string, body: StartRunDto, identity: Identity, idempotencyHeader: string | undefined) {
    const { run } = await this.start.execute({
      workflow: id,
      version: body.version,
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
