import { Injectable } from '@nestjs/common';
import { AgentCatalog } from '../../catalog/agent-catalog';
import { RegisterWorkflowUseCase } from '../register-workflow/register-workflow.usecase';

/** Loads the workflow templates of seeds/workflows at boot (idempotent: unchanged templates add nothing). */
@Injectable()
export class SeedWorkflowsUseCase {
  constructor(
    private readonly catalog: AgentCatalog,
    private readonly register: RegisterWorkflowUseCase,
  ) {}

  async execute(): Promise<{ id: string; version: number; created: boolean }[]> {
    const results: { id: string; version: number; created: boolean }[] = [];
    for (const workflow of this.catalog.catalog.workflows) {
      const r = await this.register.execute({
        definition: workflow as unknown as Record<string, unknown>,
        source: 'seed',
        createdBy: 'seeds',
      });
      results.push({ id: r.definition.id, version: r.definition.version, created: r.created });
    }
    return results;
  }
}
