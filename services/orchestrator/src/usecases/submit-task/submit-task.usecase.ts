import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { transactionWithHooks } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { AgentCatalog } from '../../catalog/agent-catalog';
import { taskDefinition } from '../../definitions/compiled-workflow';
import { DefinitionStore } from '../../definitions/definition-store';
import { RunCreator } from '../../engine/run-creator';
import type { RunRow } from '../../repositories/rows';
import { PRIORITIES, validCommand, type Priority } from '../shared/validate-command';

export class SubmitTaskCommand {
  @IsString()
  @Matches(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, { message: 'agent must be an agent slug such as coding' })
  agent!: string;

  @IsString()
  @Matches(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, { message: 'command must be a command name such as write_code' })
  command!: string;

  @IsObject()
  inputs!: Record<string, unknown>;

  /** The person (or service account) the task runs as. */
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

/** One command of one agent, run as a one-step workflow; inputs are checked against the command's schema. */
@Injectable()
export class SubmitTaskUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly catalog: AgentCatalog,
    private readonly definitions: DefinitionStore,
    private readonly creator: RunCreator,
  ) {}

  /** Runs in `tx` when given (an event handler's transaction), else in its own. */
  async execute(input: SubmitTaskCommand, tx?: SqlExecutor): Promise<{ run: RunRow; created: boolean }> {
    const command = await validCommand(SubmitTaskCommand, input);
    if (!this.catalog.hasAgent(command.agent)) {
      throw new ApiError(400, 'unknown_agent', `agent: unknown agent "${command.agent}"`, {
        field: 'agent',
        reason: `unknown agent; agents: ${this.catalog.agents().join(', ')}`,
      });
    }
    if (!this.catalog.command(command.agent, command.command)) {
      throw new ApiError(
        400,
        'unknown_command',
        `command: agent "${command.agent}" has no command "${command.command}"`,
        {
          field: 'command',
          reason: `unknown command of ${command.agent}`,
        },
      );
    }
    const inputs = structuredClone(command.inputs);
    const problems = this.catalog.validateCommandInputs(command.agent, command.command, inputs);
    if (problems.length > 0) {
      const [first] = problems;
      throw new ApiError(400, 'invalid_input', `${first.field}: ${first.reason}`, {
        field: first.field,
        reason: first.reason,
        details: problems,
      });
    }
    const inline = taskDefinition(command.agent, command.command, Object.keys(inputs));
    const definition = this.definitions.compile(inline);
    const create = (t: SqlExecutor) =>
      this.creator.create(t, {
        kind: 'task',
        definition,
        inline,
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
