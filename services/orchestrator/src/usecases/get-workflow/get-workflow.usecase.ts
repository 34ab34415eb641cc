import { Inject, Injectable } from '@nestjs/common';
import { ApiError, SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import type { DefinitionRow } from '../../repositories/rows';
import { WorkflowDefinitionRepository } from '../../repositories/workflow-definition.repository';

export interface DefinitionSummary {
  id: string;
  name: string;
  version: number;
  description: string;
  source: string;
  createdBy: string | null;
  createdAt: string;
  steps: { id: string; type: string; agent?: string; command?: string; dependsOn: string[] }[];
  inputs: unknown;
}

export function definitionSummary(row: DefinitionRow): DefinitionSummary {
  const def = row.definition as { steps?: Record<string, unknown>[]; inputs?: unknown };
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    description: row.description,
    source: row.source,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    inputs: def.inputs ?? null,
    steps: (def.steps ?? []).map((s) => ({
      id: String(s.id),
      type: s.type === 'approval' ? 'approval' : 'agent',
      ...(s.type === 'approval' ? {} : { agent: String(s.agent), command: String(s.command) }),
      dependsOn: Array.isArray(s.depends_on) ? (s.depends_on as string[]) : [],
    })),
  };
}

export class GetWorkflowCommand {
  /** Id or name. */
  workflow!: string;
  version?: number;
}

/** One workflow definition (latest or a given version) with its full document and its versions. */
@Injectable()
export class GetWorkflowUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repo: WorkflowDefinitionRepository,
  ) {}

  async execute(command: GetWorkflowCommand) {
    const latest = await this.repo.latestByIdOrName(this.ctx.db, command.workflow);
    if (!latest) throw ApiError.notFound('workflow', command.workflow);
    const row =
      command.version === undefined ? latest : await this.repo.byVersion(this.ctx.db, latest.id, command.version);
    if (!row) throw ApiError.notFound('workflow version', `${latest.id}@${command.version}`);
    const versions = await this.repo.versions(this.ctx.db, latest.id);
    return {
      ...definitionSummary(row),
      definition: row.definition,
      latestVersion: latest.version,
      versions: versions.map((v) => ({
        version: v.version,
        source: v.source,
        createdBy: v.created_by,
        createdAt: new Date(v.created_at).toISOString(),
      })),
    };
  }
}
