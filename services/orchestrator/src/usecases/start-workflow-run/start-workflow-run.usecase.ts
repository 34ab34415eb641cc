import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsInt, IsObject, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AgentCatalog } from '../../catalog/agent-catalog';
import { DefinitionStore } from '../../definitions/definition-store';
import { RunCreator } from '../../engine/run-creator';
import type { RunRow } from '../../repositories/rows';
import { WorkflowDefinitionRepository } from '../../repositories/workflow-definition.repository';
import { PRIORITIES, validCommand, type Priority } from '../shared/validate-command';

export class StartWorkflowRunCommand {
  /** The workflow's id or its name. */
  @IsString()
  @MinLength(1)
  workflow!: string;

  /** A specific version; the latest when absent. */
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;

  @IsObject()
  inputs!: Record<string, unknown>;

  @IsString()
  @MinLength(1)
  userId!: string;

  @IsOptional()
  @IsString()
  teamId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  taskId?: string;

  @IsIn(Object.keys(PRIORITIES))
  priority: Priority = 'normal';

  @IsString()
  source!: string;

  @IsString()
  @MinLength(1)
  @MaxLength(300)
  sourceId!: string;
}

/** Starts a run of a workflow version with inputs checked against the workflow's input schema. */
@Injectable()
export class StartWorkflowRunUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repo: WorkflowDefinitionRepository,
    private readonly definitions: DefinitionStore,
    private readonly catalog: AgentCatalog,
    private readonly creator: RunCreator,
  ) {}

  async execute(input: StartWorkflowRunCommand, tx?: SqlExecutor): Promise<{ run: RunRow; created: boolean }> {
    const command = await validCommand(StartWorkflowRunCommand, input);
    const db = tx ?? this.ctx.db;
    const latest = await this.repo.latestByIdOrName(db, command.workflow);
    if (!latest) {
      const known = (await this.repo.listLatest(db)).map((d) => d.id);
      throw new ApiError(404, 'unknown_workflow', `workflow: unknown workflow "${command.workflow}"`, {
        field: 'workflow',
        reason: `unknown workflow; workflows: ${known.join(', ')}`,
      });
    }
    const version = command.version ?? latest.version;
    if (version !== latest.version && !(await this.repo.byVersion(db, latest.id, version))) {
      throw new ApiError(404, 'unknown_workflow_version', `version: workflow ${latest.id} has no version ${version}`, {
        field: 'version',
        reason: `no such version (the latest is ${latest.version})`,
      });
    }
    const definition = await this.definitions.version(db, latest.id, version);
    const inputs = structuredClone(command.inputs);
    const problems = this.catalog.validate(definition.inputs, inputs);
    if (problems.length > 0) {
      const [first] = problems;
      throw new ApiError(400, 'invalid_input', `${first.field}: ${first.reason}`, {
        field: first.field,
        reason: first.reason,
        details: problems,
      });
    }
    const create = (t: SqlExecutor) =>
      this.creator.create(t, {
        kind: 'workflow',
        definition,
        inputs,
        userId: command.userId,
        teamId: command.teamId,
        taskId: command.taskId,
        priority: PRIORITIES[command.priority],
        source: command.source,
        sourceId: command.sourceId,
      });
    return tx ? create(tx) : transactionWithHooks(this.ctx.db, create);
  }
}
