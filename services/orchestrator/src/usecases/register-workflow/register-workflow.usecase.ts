import { Inject, Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsOptional, IsString } from 'class-validator';
import type { WorkflowSeed } from '@hishamos/catalog';
import { transactionWithHooks } from '@hishamos/messaging';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { contentHash } from '../../definitions/compiled-workflow';
import { WorkflowDefinitionValidator, type DefinitionProblem } from '../../definitions/workflow-definition-validator';
import type { DefinitionRow } from '../../repositories/rows';
import { WorkflowDefinitionRepository } from '../../repositories/workflow-definition.repository';
import { validCommand } from '../shared/validate-command';

export class RegisterWorkflowCommand {
  /** The definition as an object (JSON) ... */
  @IsOptional()
  @IsObject()
  definition?: Record<string, unknown>;

  /** ... or as YAML text. */
  @IsOptional()
  @IsString()
  yaml?: string;

  @IsIn(['seed', 'api'])
  source!: 'seed' | 'api';

  @IsOptional()
  @IsString()
  createdBy?: string;
}

export interface RegisterWorkflowResult {
  definition: DefinitionRow;
  /** False when the same content was already the latest version (nothing changed). */
  created: boolean;
}

export function invalidWorkflow(problems: DefinitionProblem[]): ApiError {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new ApiError(400, 'invalid_workflow', `${first.field}: ${first.message}${more}`, {
    field: first.field,
    reason: first.message,
    details: problems,
  });
}

/**
 * Stores a workflow definition as a new immutable version after checking it against the published schema
 * and the DAG/agent/reference rules. Runs keep the version they started with.
 */
@Injectable()
export class RegisterWorkflowUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repo: WorkflowDefinitionRepository,
    private readonly validator: WorkflowDefinitionValidator,
  ) {}

  async execute(input: RegisterWorkflowCommand): Promise<RegisterWorkflowResult> {
    const command = await validCommand(RegisterWorkflowCommand, input);
    let value: Record<string, unknown>;
    if (command.definition && command.yaml !== undefined)
      throw ApiError.badRequest('definition', 'send either definition (JSON) or yaml (text), not both');
    if (command.definition) value = structuredClone(command.definition);
    else if (command.yaml !== undefined) {
      const parsed = this.validator.parseText(command.yaml);
      if (!parsed.ok) throw invalidWorkflow(parsed.problems);
      value = parsed.value;
    } else throw ApiError.badRequest('definition', 'is required (a workflow definition object, or yaml text)');

    if (typeof value.id !== 'string') {
      // Nothing to version: report every problem (the id's among them).
      throw invalidWorkflow(this.validator.check({ version: 1, ...value }));
    }
    const id = value.id;
    const declared = typeof value.version === 'number' && Number.isInteger(value.version) ? value.version : undefined;
    if (value.version !== undefined && declared === undefined) {
      throw invalidWorkflow([{ field: 'version', message: 'must be a positive integer (or left out)' }]);
    }

    return transactionWithHooks(this.ctx.db, async (tx) => {
      await this.repo.lockId(tx, id);
      const latest = await this.repo.latest(tx, id);
      const hash = contentHash(value as unknown as WorkflowSeed);
      if (latest && latest.content_hash === hash) return { definition: latest, created: false };
      if (command.source === 'seed' && latest && (await this.repo.findByHash(tx, id, hash))) {
        // The seed was loaded before and has been superseded through the API: leave the newer version.
        return { definition: latest, created: false };
      }
      let version: number;
      if (!latest) version = declared ?? 1;
      else if (declared !== undefined && declared > latest.version) version = declared;
      else if (declared !== undefined && command.source === 'api') {
        throw new ApiError(
          409,
          'version_exists',
          `workflow ${id} already has version ${latest.version}: leave version out or send ${latest.version + 1} or more`,
          { field: 'version', reason: `must be greater than ${latest.version}` },
        );
      } else version = latest.version + 1;
      const definition = { ...value, version };
      const problems = this.validator.check(definition);
      if (problems.length > 0) throw invalidWorkflow(problems);
      const seed = definition as unknown as WorkflowSeed;
      await this.repo.insert(tx, {
        id,
        version,
        name: seed.name,
        description: seed.description,
        definition,
        content_hash: hash,
        source: command.source,
        created_by: command.createdBy ?? null,
      });
      const stored = await this.repo.byVersion(tx, id, version);
      return { definition: stored!, created: true };
    });
  }
}
