import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { WorkflowDefinitionRepository } from '../../repositories/workflow-definition.repository';
import { definitionSummary, type DefinitionSummary } from '../get-workflow/get-workflow.usecase';

/** The latest version of every workflow definition. */
@Injectable()
export class ListWorkflowsUseCase {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly repo: WorkflowDefinitionRepository,
  ) {}

  async execute(): Promise<{ workflows: DefinitionSummary[] }> {
    const rows = await this.repo.listLatest(this.ctx.db);
    return { workflows: rows.map(definitionSummary) };
  }
}
