import { Injectable } from '@nestjs/common';
import type { Envelope, Topics } from '@hishamos/contracts';
import { NonRetryableError } from '@hishamos/messaging';
import type { SqlExecutor } from '@hishamos/persistence';
import { ApiError } from '@hishamos/platform';
import type { RunRow } from '../../repositories/rows';
import { PRIORITIES, type Priority } from '../shared/validate-command';
import { StartWorkflowRunUseCase } from '../start-workflow-run/start-workflow-run.usecase';
import { SubmitTaskUseCase } from '../submit-task/submit-task.usecase';

/** An invalid task event: goes to the DLQ at once with the reason and the field (x-error, x-error-field). */
export class InvalidTaskEventError extends NonRetryableError {
  constructor(
    message: string,
    readonly field?: string,
    code = 'invalid_task',
  ) {
    super(message, code);
    this.name = 'InvalidTaskEventError';
  }
}

/**
 * TaskRequested from another service: one command (agent + command) or a workflow. The CloudEvent's
 * source and id are the idempotency key: a redelivered or re-sent event starts one run.
 */
@Injectable()
export class IntakeTaskEventUseCase {
  constructor(
    private readonly tasks: SubmitTaskUseCase,
    private readonly workflows: StartWorkflowRunUseCase,
  ) {}

  async execute(event: Envelope<typeof Topics.TaskRequested>, tx: SqlExecutor): Promise<RunRow> {
    const p = event.payload;
    const fail = (field: string, reason: string): never => {
      throw new InvalidTaskEventError(`${field}: ${reason}`, field);
    };
    if (!p.requestedBy) fail('requested_by', 'is required (the user the work runs as)');
    const hasCommand = Boolean(p.agent || p.command);
    if (hasCommand && p.workflow) fail('workflow', 'send either agent + command or workflow, not both');
    if (!hasCommand && !p.workflow) fail('agent', 'is required: send agent + command, or workflow');
    if (hasCommand && !p.agent) fail('agent', 'is required with command');
    if (hasCommand && !p.command) fail('command', 'is required with agent');
    const priority = (p.priority || 'normal').toLowerCase();
    if (!(priority in PRIORITIES)) fail('priority', `must be one of ${Object.keys(PRIORITIES).join(', ')}`);
    const common = {
      inputs: (p.inputs ?? {}) as Record<string, unknown>,
      userId: p.requestedBy,
      teamId: p.teamId || undefined,
      taskId: p.taskId || undefined,
      priority: priority as Priority,
      source: `event:${event.attributes.source}`,
      sourceId: event.attributes.id,
    };
    try {
      const { run } = hasCommand
        ? await this.tasks.execute({ ...common, agent: p.agent, command: p.command }, tx)
        : await this.workflows.execute({ ...common, workflow: p.workflow }, tx);
      return run;
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) {
        const field = error.extra.field ? error.extra.field.replace(/^inputs\b/, 'inputs') : undefined;
        throw new InvalidTaskEventError(error.message, field, error.code);
      }
      throw error;
    }
  }
}
